#define BOOST_TEST_MODULE actors_runtime
#include <boost/test/unit_test.hpp>
