// Entry point of libstream_window_state_test (window state tables, snapshots).
#define BOOST_TEST_MODULE libstream_window_state
#include <boost/test/unit_test.hpp>
