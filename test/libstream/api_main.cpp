// Entry point of libstream_api_test (the typed stream API).
#define BOOST_TEST_MODULE libstream_api
#include <boost/test/unit_test.hpp>
