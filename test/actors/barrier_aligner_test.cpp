#include <boost/test/unit_test.hpp>

#include "sluice/actors/barrier_aligner.hpp"

using namespace sluice;
using namespace sluice::actors;

namespace {

using st = barrier_outcome::status;
checkpoint_id cp(uint64_t n) {
  return checkpoint_id{n};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(barrier_aligner_suite)

BOOST_AUTO_TEST_CASE(single_channel_aligns_immediately) {
  barrier_aligner a{1};
  auto r = a.on_barrier(0, cp(1));
  BOOST_TEST((r.state == st::aligned));
  BOOST_TEST(r.id.value == 1u);
  BOOST_TEST(!r.aborted.has_value());
  BOOST_TEST(!a.blocked(0));
  BOOST_TEST(a.pending_channels() == 0u);
  BOOST_TEST((a.on_barrier(0, cp(2)).state == st::aligned));
}

BOOST_AUTO_TEST_CASE(three_channels_block_until_all_delivered) {
  barrier_aligner a{3};
  auto r = a.on_barrier(1, cp(4));
  BOOST_TEST((r.state == st::blocked));
  BOOST_TEST(r.id.value == 4u);
  BOOST_TEST(a.blocked(1));
  BOOST_TEST(!a.blocked(0));
  BOOST_TEST(a.pending_channels() == 2u);
  BOOST_TEST(a.aligning()->value == 4u);

  r = a.on_barrier(0, cp(4));
  BOOST_TEST((r.state == st::blocked));
  BOOST_TEST(a.blocked(0));
  BOOST_TEST(a.pending_channels() == 1u);

  r = a.on_barrier(2, cp(4));
  BOOST_TEST((r.state == st::aligned));
  BOOST_TEST(r.id.value == 4u);
  for (size_t c = 0; c < 3; ++c)
    BOOST_TEST(!a.blocked(c));
  BOOST_TEST(a.pending_channels() == 0u);
  BOOST_TEST(!a.aligning().has_value());
}

BOOST_AUTO_TEST_CASE(repeated_barrier_on_a_channel_is_ignored) {
  barrier_aligner a{2};
  a.on_barrier(0, cp(1));
  auto r = a.on_barrier(0, cp(1));
  BOOST_TEST((r.state == st::ignored));
  BOOST_TEST(a.pending_channels() == 1u);
  BOOST_TEST((a.on_barrier(1, cp(1)).state == st::aligned));
  // Once aligned, the same barrier again is old.
  BOOST_TEST((a.on_barrier(1, cp(1)).state == st::ignored));
}

BOOST_AUTO_TEST_CASE(ended_channels_count_as_delivered) {
  barrier_aligner a{3};
  BOOST_TEST((a.on_end(2).state == st::none));  // no alignment in progress
  BOOST_TEST((a.on_barrier(0, cp(1)).state == st::blocked));
  BOOST_TEST(a.pending_channels() == 1u);
  BOOST_TEST((a.on_barrier(1, cp(1)).state == st::aligned));
}

BOOST_AUTO_TEST_CASE(channel_ending_during_alignment_completes_it) {
  barrier_aligner a{3};
  a.on_barrier(0, cp(7));
  a.on_barrier(1, cp(7));
  auto r = a.on_end(2);
  BOOST_TEST((r.state == st::aligned));
  BOOST_TEST(r.id.value == 7u);
  BOOST_TEST(!a.blocked(0));
  BOOST_TEST(a.ended(2));
}

BOOST_AUTO_TEST_CASE(channel_ending_without_completing_changes_nothing_else) {
  barrier_aligner a{3};
  a.on_barrier(0, cp(7));
  auto r = a.on_end(1);
  BOOST_TEST((r.state == st::none));
  BOOST_TEST(a.blocked(0));
  BOOST_TEST(a.pending_channels() == 1u);
  BOOST_TEST((a.on_barrier(2, cp(7)).state == st::aligned));
}

BOOST_AUTO_TEST_CASE(barrier_on_an_ended_channel_is_ignored) {
  barrier_aligner a{2};
  a.on_end(0);
  BOOST_TEST((a.on_barrier(0, cp(1)).state == st::ignored));
  BOOST_TEST(!a.aligning().has_value());
}

BOOST_AUTO_TEST_CASE(newer_barrier_aborts_the_older_alignment) {
  barrier_aligner a{3};
  a.on_barrier(0, cp(5));
  a.on_barrier(1, cp(5));
  auto r = a.on_barrier(2, cp(6));
  BOOST_TEST((r.state == st::blocked));
  BOOST_TEST(r.id.value == 6u);
  BOOST_REQUIRE(r.aborted.has_value());
  BOOST_TEST(r.aborted->value == 5u);
  // The channels held for 5 are released; only the one that delivered 6 is held.
  BOOST_TEST(!a.blocked(0));
  BOOST_TEST(!a.blocked(1));
  BOOST_TEST(a.blocked(2));
  BOOST_TEST(a.pending_channels() == 2u);
  BOOST_TEST(a.aligning()->value == 6u);
  BOOST_TEST((a.on_barrier(0, cp(6)).state == st::blocked));
  BOOST_TEST((a.on_barrier(1, cp(6)).state == st::aligned));
}

BOOST_AUTO_TEST_CASE(older_barrier_is_ignored) {
  barrier_aligner a{2};
  a.on_barrier(0, cp(6));
  auto r = a.on_barrier(1, cp(5));
  BOOST_TEST((r.state == st::ignored));
  BOOST_TEST(r.id.value == 5u);
  BOOST_TEST(!a.blocked(1));
  BOOST_TEST(a.aligning()->value == 6u);
  BOOST_TEST((a.on_barrier(1, cp(6)).state == st::aligned));
  // After alignment, barriers up to the last one stay old.
  BOOST_TEST((a.on_barrier(0, cp(5)).state == st::ignored));
  BOOST_TEST((a.on_barrier(0, cp(7)).state == st::blocked));
}

BOOST_AUTO_TEST_CASE(aborted_barrier_arriving_late_is_ignored) {
  barrier_aligner a{2};
  a.on_barrier(0, cp(5));
  auto r = a.on_barrier(1, cp(6));
  BOOST_TEST(r.aborted->value == 5u);
  // Channel 0 was released; its buffered data is processed, then 6 comes along.
  BOOST_TEST((a.on_barrier(0, cp(6)).state == st::aligned));
  BOOST_TEST((a.on_barrier(1, cp(5)).state == st::ignored));
}

BOOST_AUTO_TEST_CASE(newer_barrier_can_abort_and_align_at_once) {
  barrier_aligner a{3};
  a.on_barrier(0, cp(1));
  a.on_end(1);
  a.on_end(0);  // channel 0 ended after delivering 1; only channel 2 owes it
  BOOST_TEST(a.pending_channels() == 1u);
  auto r = a.on_barrier(2, cp(2));  // channel 2 skips to 2: 1 is aborted, and 2 needs no one else
  BOOST_REQUIRE(r.aborted.has_value());
  BOOST_TEST(r.aborted->value == 1u);
  BOOST_TEST((r.state == st::aligned));
  BOOST_TEST(r.id.value == 2u);
  BOOST_TEST(!a.blocked(2));
}

BOOST_AUTO_TEST_SUITE_END()
