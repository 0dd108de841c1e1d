// Entry point of libstream_ops_test (stateless and keyed operators).
#define BOOST_TEST_MODULE libstream_ops
#include <boost/test/unit_test.hpp>
