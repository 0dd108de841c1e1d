#define BOOST_TEST_MODULE actors_checkpoint
#include <boost/test/unit_test.hpp>
