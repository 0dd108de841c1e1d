// Entry point of libstream_state_test (result type, snapshot store).
#define BOOST_TEST_MODULE libstream_state
#include <boost/test/unit_test.hpp>
