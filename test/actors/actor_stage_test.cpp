// Custom actor stages: a user actor that never replies fails the job after
// the stage's timeout, with an error naming the stage and instance.
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <chrono>

#include "runtime_util.hpp"
#include "sluice/actors/actor_stage.hpp"

using namespace test_util;
using namespace sluice;

namespace {

struct silent_state {
  std::vector<caf::response_promise> pending;  ///< Kept, never delivered.
};

/// Takes every batch and never answers. (The unused argument: CAF 0.17
/// dereferences a null argument tuple for function actors spawned without
/// arguments, which UBSan reports; see README.)
caf::behavior silent(caf::stateful_actor<silent_state>* self, int /*unused*/) {
  return {[self](std::vector<int64_t>&) {
    auto rp = self->make_response_promise();
    self->state.pending.push_back(rp);
    return rp;
  }};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_actor_stage)

BOOST_AUTO_TEST_CASE(a_user_actor_that_never_replies_fails_the_job_naming_stage_and_instance) {
  pipeline p{"hung_stage"};
  auto out = std::make_shared<collected<int64_t>>();
  auto src = p.generate(100, [](uint64_t i) { return static_cast<int64_t>(i); });
  src.via_actor<int64_t>(
         "stuck", [](caf::actor_system& sys) { return sys.spawn(silent, 0); },
         std::chrono::milliseconds(300))
      .parallelism(1)
      .collect(out);
  auto cfg = config(1);
  cfg.timeout =
      std::chrono::seconds(30);  // without the stage's timeout, the job hangs until this one
  const auto t0 = std::chrono::steady_clock::now();
  auto r = execute(p, cfg);
  const auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(!r.ok);
  BOOST_TEST_MESSAGE("error: " << r.error);
  BOOST_TEST(r.error.find("actor stage 'stuck' instance 0 did not reply within 300 ms") !=
                 std::string::npos,
             r.error);
  BOOST_TEST(r.error.find("operator 'stuck' instance 0") != std::string::npos, r.error);
  BOOST_TEST((took < std::chrono::seconds(15)));
  BOOST_TEST(out->size() == 0u);
}

BOOST_AUTO_TEST_CASE(the_default_stage_timeout_is_a_minute) {
  BOOST_TEST(actors::actor_stage_base::default_timeout.count() == 60'000);
}

BOOST_AUTO_TEST_SUITE_END()
