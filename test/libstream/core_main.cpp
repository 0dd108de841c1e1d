// Entry point of libstream_core_test (formats, sinks, key groups, partitioners, time).
#define BOOST_TEST_MODULE libstream_core
#include <boost/test/unit_test.hpp>
