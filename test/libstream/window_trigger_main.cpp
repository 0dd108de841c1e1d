// Entry point of libstream_window_trigger_test (triggers, evictors, global
// windows and dynamic sessions on the generic window operator).
#define BOOST_TEST_MODULE libstream_window_trigger
#include <boost/test/unit_test.hpp>
