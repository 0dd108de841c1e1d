// Snapshot and restore of the generic window operator in the middle of a
// random out-of-order stream: restored into one instance or split by key
// group over several (another parallelism), the operators must emit exactly
// what one that never stopped emits after the cut — window contents (an
// accumulator or the records kept for an evictor), trigger state and the
// timers of both domains all travel with their key.
#include "sluice/window/generic_window_operator.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/key_group.hpp"
#include "sluice/state/snapshot.hpp"
#include "sluice/window/continuous_trigger.hpp"
#include "sluice/window/count_trigger.hpp"
#include "sluice/window/global.hpp"
#include "sluice/window/purging_trigger.hpp"
#include "sluice/window/sliding.hpp"
#include "sluice/window/tumbling.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;

namespace {

constexpr uint32_t max_par = 128;

/// What a run emitted: results and late record ids.
struct emitted {
  std::vector<ids_result> results;
  std::vector<uint32_t> late;
  void take(testing::harness& h) {
    for (auto& r : h.values<ids_result>(0))
      results.push_back(std::move(r));
    for (auto& e : h.values<event>(1))
      late.push_back(e.id);
  }
  void sort() {
    std::sort(results.begin(), results.end());
    std::sort(late.begin(), late.end());
  }
};

/// Feeds batches to instances by key group, with the bounded watermark
/// after each batch and `tick` of processing time before it.
struct feeder {
  std::vector<std::vector<record<event>>> batches;
  int64_t max_seen = std::numeric_limits<int64_t>::min();
  timestamp wm = timestamp::min();
  timestamp now = timestamp::of(0);
  int64_t bound = 20;
  duration tick{7};

  void run(const std::vector<testing::harness*>& hs, size_t from, size_t to, emitted& out) {
    const auto par = static_cast<uint32_t>(hs.size());
    for (size_t b = from; b < to; ++b) {
      now = now + tick;
      std::vector<std::vector<record<event>>> split(par);
      for (auto& r : batches[b]) {
        max_seen = std::max(max_seen, r.ts.ms);
        split[instance_for(key_group_of(r.value.key, max_par), par, max_par).value].push_back(r);
      }
      wm = bounded_watermark(max_seen, bound);
      for (uint32_t i = 0; i < par; ++i) {
        hs[i]->advance_processing_time(duration{now.ms - hs[i]->clock().now().ms});
        if (!split[i].empty())
          hs[i]->push_batch(std::move(split[i]));
        hs[i]->watermark(wm);
        out.take(*hs[i]);
      }
    }
  }
};

template <class Op, class Make>
void check_round_trip(Make make, uint64_t seed, uint32_t par) {
  workload wl;
  wl.records = 4000;
  wl.keys = 40;
  wl.max_step = 2;  // dense enough that most keys have open windows at the cut
  wl.disorder = 40;
  feeder f;
  f.batches = make_batches(seed, wl);
  const size_t cut = f.batches.size() / 2;

  testing::harness ref{make(), 0, 1, max_par};
  testing::harness first{make(), 0, 1, max_par};
  emitted ref_before, ref_after, first_before, restored_after;
  feeder g = f;
  g.run({&ref}, 0, cut, ref_before);
  f.run({&first}, 0, cut, first_before);
  g.run({&ref}, cut, f.batches.size(), ref_after);
  ref.end();
  ref_after.take(ref);
  BOOST_TEST_REQUIRE(first.as<Op>().open_windows() > 10u,
                     "state must be open at the cut, have " << first.as<Op>().open_windows());

  state::snapshot_writer w{max_par, 1};
  first.op().snapshot(w);
  std::vector<std::unique_ptr<testing::harness>> restored;
  std::vector<testing::harness*> hs;
  size_t windows = 0;
  for (uint32_t i = 0; i < par; ++i) {
    const uint32_t lo = first_key_group(instance_index{i}, par, max_par).value;
    const uint32_t hi = first_key_group(instance_index{i + 1}, par, max_par).value;
    std::vector<std::string> sections;
    for (auto& [kg, bytes] : w.keyed_bytes())
      if (kg >= lo && kg < hi)
        sections.push_back(bytes);
    restored.push_back(std::make_unique<testing::harness>(make(), i, par, max_par));
    restored.back()->clock().set(f.now);
    restored.back()->op().restore(state::snapshot_reader{std::nullopt, std::move(sections)});
    restored.back()->watermark(f.wm);  // the watermark at the cut: nothing fires again
    BOOST_TEST(restored.back()->template output<ids_result>(0).empty());
    windows += restored.back()->template as<Op>().open_windows();
    hs.push_back(restored.back().get());
  }
  BOOST_TEST(windows == first.as<Op>().open_windows());
  f.run(hs, cut, f.batches.size(), restored_after);
  for (auto* h : hs) {
    h->end();
    restored_after.take(*h);
  }
  ref_after.sort();
  restored_after.sort();
  BOOST_TEST(ref_after.results.size() > 0u);
  BOOST_TEST(restored_after.results.size() == ref_after.results.size());
  BOOST_TEST((restored_after.results == ref_after.results),
             "results after restore differ from a run without snapshot");
  BOOST_TEST(restored_after.late == ref_after.late);
}

template <class A, class Tr, class Ev = window::no_evictor>
using op_t = window::generic_window_operator<event, uint32_t, by_key, A, Tr, Ev, collect_ids>;

template <class A, class Tr, class Ev = window::no_evictor>
auto factory(A a, Tr t, Ev e, int64_t lateness) {
  return [=] {
    return std::make_unique<op_t<A, Tr, Ev>>(by_key{}, a, t, e, collect_ids{}, duration{lateness});
  };
}

const std::vector<uint32_t> parallelisms{1, 3};

}  // namespace

BOOST_AUTO_TEST_SUITE(window_generic_snapshot)

BOOST_AUTO_TEST_CASE(continuous_trigger_with_lateness_restores_exactly) {
  using T = window::continuous_event_time_trigger;
  for (auto seed : seeds())
    for (auto par : parallelisms)
      check_round_trip<op_t<window::tumbling, T>>(
          factory(window::tumbling::of(duration{50}), T::of(duration{20}), window::no_evictor{},
                  15),
          seed, par);
}

BOOST_AUTO_TEST_CASE(sessions_with_a_purging_count_trigger_restore_exactly) {
  using T = window::purging_trigger<window::count_trigger>;
  for (auto seed : seeds())
    for (auto par : parallelisms)
      check_round_trip<op_t<window::session, T>>(
          factory(window::session::with_gap(duration{6}), T::of(window::count_trigger::of(2)),
                  window::no_evictor{}, 10),
          seed, par);
}

BOOST_AUTO_TEST_CASE(global_windows_with_an_evictor_restore_exactly) {
  using T = window::count_trigger;
  using E = window::count_evictor;
  for (auto seed : seeds())
    for (auto par : parallelisms)
      check_round_trip<op_t<window::global, T, E>>(factory(window::global{}, T::of(5), E::of(3), 0),
                                                   seed, par);
}

BOOST_AUTO_TEST_CASE(sliding_windows_with_a_time_evictor_restore_exactly) {
  using T = window::event_time_trigger;
  using E = window::time_evictor;
  for (auto seed : seeds())
    for (auto par : parallelisms)
      check_round_trip<op_t<window::sliding, T, E>>(
          factory(window::sliding::of(duration{30}, duration{10}), T{}, E::of(duration{15}), 10),
          seed, par);
}

BOOST_AUTO_TEST_CASE(processing_time_timers_restore_exactly) {
  using T = window::continuous_processing_time_trigger;
  for (auto seed : seeds())
    for (auto par : parallelisms)
      check_round_trip<op_t<window::tumbling, T>>(
          factory(window::tumbling::processing(duration{100}), T::of(duration{30}),
                  window::no_evictor{}, 0),
          seed, par);
}

BOOST_AUTO_TEST_SUITE_END()
