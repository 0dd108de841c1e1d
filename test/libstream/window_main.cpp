// Entry point of libstream_window_test (window assigners and operators).
#define BOOST_TEST_MODULE libstream_window
#include <boost/test/unit_test.hpp>
