// The input side of a task: holding back, alignment, event time, credits.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <vector>

#include "task/input_channels.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

arrival data(uint32_t ch) {
  return arrival{ch, data_arrival{std::make_shared<typed_batch<int>>()}};
}
arrival barrier(uint32_t ch, uint64_t id) {
  return arrival{ch, barrier_arrival{checkpoint_id{id}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(task_input_channels)

BOOST_AUTO_TEST_CASE(everything_before_the_start_is_held_and_returned_in_order) {
  input_channels in{2};
  auto a = data(1);
  auto b = arrival{0, end_arrival{}};
  BOOST_TEST(in.hold(a));
  BOOST_TEST(in.hold(b));
  auto early = in.start();
  BOOST_REQUIRE(early.size() == 2u);
  BOOST_TEST(early[0].channel == 1u);
  BOOST_TEST(std::holds_alternative<data_arrival>(early[0].what));
  BOOST_TEST(std::holds_alternative<end_arrival>(early[1].what));
  auto c = data(0);
  BOOST_TEST(!in.hold(c));  // started: processed right away
}

BOOST_AUTO_TEST_CASE(a_channel_that_delivered_the_barrier_is_held_until_alignment) {
  input_channels in{2};
  in.start();
  auto out = in.on_barrier(0, checkpoint_id{1});
  BOOST_TEST(out.is_blocked());
  BOOST_TEST(in.aligning().has_value());
  auto behind = data(0);
  BOOST_TEST(in.hold(behind));  // channel 0 is held back
  auto other = data(1);
  BOOST_TEST(!in.hold(other));  // channel 1 is not
  out = in.on_barrier(1, checkpoint_id{1});
  BOOST_TEST(out.is_aligned());
  BOOST_TEST(out.id.value == 1u);
  auto held = in.release();
  BOOST_REQUIRE(held.size() == 1u);
  BOOST_TEST(held[0].channel == 0u);
  BOOST_TEST(in.release().empty());
  auto again = data(0);
  BOOST_TEST(!in.hold(again));
}

BOOST_AUTO_TEST_CASE(the_last_open_channel_ending_completes_an_alignment) {
  input_channels in{2};
  in.start();
  in.on_barrier(0, checkpoint_id{3});
  auto end = in.on_end(1);
  BOOST_TEST(end.alignment.is_aligned());
  BOOST_TEST(end.alignment.id.value == 3u);
  BOOST_TEST(!end.all_ended);
  end = in.on_end(0);
  BOOST_TEST(end.all_ended);
  BOOST_REQUIRE(end.wm.has_value());
  BOOST_TEST((*end.wm == timestamp::max()));
}

BOOST_AUTO_TEST_CASE(an_idle_channel_does_not_hold_back_event_time_and_a_watermark_reactivates_it) {
  input_channels in{2};
  in.start();
  BOOST_TEST(!in.on_watermark(0, timestamp::of(100)).has_value());
  auto wm = in.on_status(1, channel_status::idle);
  BOOST_REQUIRE(wm.has_value());
  BOOST_TEST(wm->ms == 100);
  BOOST_TEST(!in.all_idle());
  in.on_status(0, channel_status::idle);
  BOOST_TEST(in.all_idle());
  // Active again by a watermark (what the sender repeats when it resumes).
  BOOST_TEST(!in.on_watermark(1, timestamp::of(40)).has_value());
  BOOST_TEST(!in.all_idle());
  // ... or by data.
  in.on_data(0);
  in.on_status(1, channel_status::idle);
  BOOST_TEST(!in.all_idle());
}

BOOST_AUTO_TEST_CASE(credits_are_withheld_under_backpressure_and_returned_after) {
  input_channels in{3};
  in.start();
  BOOST_TEST(in.processed(0, false));  // goes back at once
  BOOST_TEST(!in.processed(2, true));
  BOOST_TEST(!in.processed(2, true));
  BOOST_TEST(!in.processed(0, true));
  BOOST_TEST(in.withheld(2) == 2u);
  std::vector<uint32_t> given;
  in.return_withheld([&](uint32_t c) { given.push_back(c); });
  BOOST_TEST((given == std::vector<uint32_t>{0, 2, 2}));
  BOOST_TEST(in.withheld(0) == 0u);
  BOOST_TEST(in.withheld(2) == 0u);
  given.clear();
  in.return_withheld([&](uint32_t c) { given.push_back(c); });
  BOOST_TEST(given.empty());
}

BOOST_AUTO_TEST_CASE(a_newer_barrier_aborts_the_alignment_and_releases_its_channels) {
  input_channels in{2};
  in.start();
  in.on_barrier(0, checkpoint_id{1});
  auto held = data(0);
  BOOST_TEST(in.hold(held));
  auto out = in.on_barrier(1, checkpoint_id{2});
  BOOST_REQUIRE(out.aborted.has_value());
  BOOST_TEST(out.aborted->value == 1u);
  BOOST_TEST(out.is_blocked());  // now aligning 2, channel 1 held
  auto released = in.release();
  BOOST_REQUIRE(released.size() == 1u);
  BOOST_TEST(!in.hold(released[0]));  // channel 0 is free again
  auto b = barrier(1, 2);
  BOOST_TEST(in.hold(b));  // channel 1 delivered 2 already
}

BOOST_AUTO_TEST_SUITE_END()
