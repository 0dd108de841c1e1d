#define BOOST_TEST_MODULE actors_task_parts
#include <boost/test/unit_test.hpp>
