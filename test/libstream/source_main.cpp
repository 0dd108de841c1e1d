// Entry point of libstream_source_test (sources and line parsing).
#define BOOST_TEST_MODULE libstream_source
#include <boost/test/unit_test.hpp>
