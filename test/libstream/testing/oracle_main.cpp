// Entry point of libstream_oracle_test (the exactly-once oracle).
#define BOOST_TEST_MODULE libstream_oracle
#include <boost/test/unit_test.hpp>
