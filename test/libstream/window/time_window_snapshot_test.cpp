// Snapshot and restore of time_window_operator with many keys over all key
// groups: a restored operator must hold exactly the state it was given and
// continue exactly like an operator that never took a snapshot, also when
// the state is split over several instances by key group.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/key_group.hpp"
#include "sluice/state/snapshot.hpp"
#include "sluice/testing/harness.hpp"
#include "sluice/window/sliding.hpp"
#include "sluice/window/time_window_operator.hpp"
#include "sluice/window/tumbling.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;
using window::sliding;
using window::time_window;
using window::tumbling;

namespace {

/// Fixed-size accumulator (count, sum of ids): every entry encodes to the
/// same number of bytes, unlike collect_ids.
struct count_sum {
  using acc_type = std::pair<uint64_t, uint64_t>;
  acc_type create() const { return {0, 0}; }
  void add(acc_type& a, const event& e) const {
    ++a.first;
    a.second += e.id;
  }
  acc_type result(const acc_type& a) const { return a; }
};

using sliding_ids_op = window::time_window_operator<event, uint32_t, by_key, sliding, collect_ids>;
using tumbling_sum_op = window::time_window_operator<event, uint32_t, by_key, tumbling, count_sum>;

/// One decoded snapshot record of a time window operator.
template <class Acc>
using entry = std::tuple<uint32_t, time_window, Acc, bool>;

/// Every record of a snapshot, sorted, each checked to sit in the section of
/// its key's key group.
template <class Acc>
std::vector<entry<Acc>> decode_all(state::snapshot_writer& w, uint32_t max_parallelism) {
  std::vector<entry<Acc>> out;
  for (auto& [g, bytes] : w.keyed_bytes()) {
    state::reader r{bytes};
    while (!r.at_end()) {
      entry<Acc> e;
      state::decode(r, std::get<0>(e));
      state::decode(r, std::get<1>(e));
      state::decode(r, std::get<2>(e));
      state::decode(r, std::get<3>(e));
      BOOST_REQUIRE_MESSAGE(key_group_of(std::get<0>(e), max_parallelism).value == g,
                            "key " << std::get<0>(e) << " written to key group " << g);
      out.push_back(std::move(e));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

template <class Op>
state::snapshot_writer snapshot_of(testing::harness& h, uint32_t max_parallelism) {
  state::snapshot_writer w{max_parallelism, 1};
  h.op().snapshot(w);
  return w;
}

/// Feeds batches [from, to) with the watermark after each as in `drive`
/// (max seen so far - bound - 1), collecting port 0 and the late port.
template <class Out>
struct feeder {
  int64_t bound = 0;
  int64_t max_seen = std::numeric_limits<int64_t>::min();
  timestamp wm = timestamp::min();
  std::vector<std::vector<record<event>>> batches;

  /// Runs `hs[i]` on the records of instance `i` (by key group) of each batch.
  void run(std::vector<testing::harness*> hs, size_t from, size_t to, uint32_t max_parallelism,
           std::vector<Out>& results, std::vector<uint32_t>& late) {
    const auto par = static_cast<uint32_t>(hs.size());
    for (size_t b = from; b < to; ++b) {
      std::vector<std::vector<record<event>>> split(par);
      for (auto& r : batches[b]) {
        max_seen = std::max(max_seen, r.ts.ms);
        split[instance_for(key_group_of(r.value.key, max_parallelism), par, max_parallelism).value]
            .push_back(r);
      }
      wm = bounded_watermark(max_seen, bound);
      for (uint32_t i = 0; i < par; ++i) {
        if (!split[i].empty())
          hs[i]->push_batch(std::move(split[i]));
        hs[i]->watermark(wm);
        collect(*hs[i], results, late);
      }
    }
  }

  static void collect(testing::harness& h, std::vector<Out>& results, std::vector<uint32_t>& late) {
    for (auto& v : h.values<Out>(0))
      results.push_back(std::move(v));
    for (auto& e : h.values<event>(1))
      late.push_back(e.id);
  }
};

/// The scenario of every test: a reference operator sees all batches and
/// never snapshots; a second one sees the first half, snapshots, and its
/// snapshot is restored into `par` fresh instances that see the second half
/// split by key group. The restored state must equal the snapshot, and the
/// restored instances together must emit exactly what the reference emits
/// after the cut.
template <class Op, class Out, class MakeOp>
void check_round_trip(MakeOp make, const workload& wl, uint64_t seed, int64_t bound, uint32_t par,
                      uint32_t max_parallelism) {
  using acc = typename Op::acc_type;
  feeder<Out> f;
  f.bound = bound;
  f.batches = make_batches(seed, wl);
  const size_t cut = f.batches.size() / 2;

  testing::harness ref{make(), 0, 1, max_parallelism};
  testing::harness first{make(), 0, 1, max_parallelism};
  std::vector<Out> ref_before, ref_after, first_before, restored_after;
  std::vector<uint32_t> ref_late_before, ref_late_after, first_late, restored_late;
  {
    feeder<Out> g = f;
    g.run({&ref}, 0, cut, max_parallelism, ref_before, ref_late_before);
    f.run({&first}, 0, cut, max_parallelism, first_before, first_late);
    BOOST_TEST(first_before.size() == ref_before.size());
    f.run({&ref}, cut, f.batches.size(), max_parallelism, ref_after, ref_late_after);
    ref.end();
    feeder<Out>::collect(ref, ref_after, ref_late_after);
    f.max_seen = g.max_seen;
    f.wm = g.wm;
  }
  BOOST_TEST_REQUIRE(first.as<Op>().open_windows() > size_t{1000},
                     "the scenario must hold many keys at the cut");

  auto w = snapshot_of<Op>(first, max_parallelism);
  const auto snapshot = decode_all<acc>(w, max_parallelism);
  BOOST_TEST(snapshot.size() == first.as<Op>().open_windows());
  BOOST_TEST(w.keyed_bytes().size() > size_t{max_parallelism / 2},
             "keys must spread over the key groups");

  // Restore: instance i gets the sections of its key groups, as the runtime does.
  std::vector<std::unique_ptr<testing::harness>> restored;
  std::vector<testing::harness*> hs;
  size_t restored_entries = 0;
  for (uint32_t i = 0; i < par; ++i) {
    const uint32_t lo = first_key_group(instance_index{i}, par, max_parallelism).value;
    const uint32_t hi = first_key_group(instance_index{i + 1}, par, max_parallelism).value;
    std::vector<std::string> sections;
    for (auto& [g, bytes] : w.keyed_bytes())
      if (g >= lo && g < hi)
        sections.push_back(bytes);
    restored.push_back(std::make_unique<testing::harness>(make(), i, par, max_parallelism));
    restored.back()->op().restore(state::snapshot_reader{std::nullopt, std::move(sections)});
    restored.back()->watermark(f.wm);  // the watermark in force at the cut: nothing may fire again
    BOOST_TEST(restored.back()->template output<Out>(0).empty());
    restored_entries += restored.back()->template as<Op>().open_windows();
    hs.push_back(restored.back().get());
  }
  BOOST_TEST(restored_entries == snapshot.size());
  if (par == 1) {  // the restored state is exactly the snapshotted one
    auto again = snapshot_of<Op>(*restored[0], max_parallelism);
    const auto state_again = decode_all<acc>(again, max_parallelism);
    BOOST_TEST((state_again == snapshot), "state after restore differs from the snapshot");
  }

  f.run(hs, cut, f.batches.size(), max_parallelism, restored_after, restored_late);
  for (auto* h : hs) {
    h->end();
    feeder<Out>::collect(*h, restored_after, restored_late);
  }
  std::sort(ref_after.begin(), ref_after.end());
  std::sort(restored_after.begin(), restored_after.end());
  BOOST_TEST(ref_after.size() > size_t{0});
  BOOST_TEST(restored_after.size() == ref_after.size());
  BOOST_TEST((restored_after == ref_after),
             "results after restore differ from a run without snapshot");
  std::sort(ref_late_after.begin(), ref_late_after.end());
  std::sort(restored_late.begin(), restored_late.end());
  BOOST_TEST(restored_late == ref_late_after);
}

workload many_keys() {
  workload w;
  w.records = 40'000;
  w.keys = 5'000;
  w.max_step = 2;
  w.max_batch = 200;
  return w;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(window_time_window_snapshot)

BOOST_AUTO_TEST_CASE(sliding_windows_with_lateness_restore_exactly_on_one_instance) {
  for (uint64_t seed : {1, 42}) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      check_round_trip<sliding_ids_op, ids_result>(
          [] {
            return std::make_unique<sliding_ids_op>(
                by_key{}, sliding::of(duration{400}, duration{100}), collect_ids{}, duration{50});
          },
          many_keys(), seed, 20, 1, default_max_parallelism);
    }
  }
}

BOOST_AUTO_TEST_CASE(tumbling_windows_restore_split_by_key_group_over_three_instances) {
  using out = window::window_result<uint32_t, std::pair<uint64_t, uint64_t>>;
  check_round_trip<tumbling_sum_op, out>(
      [] {
        return std::make_unique<tumbling_sum_op>(by_key{}, tumbling::of(duration{8000}),
                                                 count_sum{}, duration{30});
      },
      many_keys(), 3, 20, 3, default_max_parallelism);
}

BOOST_AUTO_TEST_CASE(key_groups_are_right_when_their_number_is_not_a_power_of_two) {
  using out = window::window_result<uint32_t, std::pair<uint64_t, uint64_t>>;
  for (uint32_t par : {1u, 4u}) {
    BOOST_TEST_CONTEXT("parallelism " << par) {
      check_round_trip<tumbling_sum_op, out>(
          [] {
            return std::make_unique<tumbling_sum_op>(by_key{}, tumbling::of(duration{8000}),
                                                     count_sum{}, duration{0});
          },
          many_keys(), 5, 20, par, 100);
      check_round_trip<sliding_ids_op, ids_result>(
          [] {
            return std::make_unique<sliding_ids_op>(
                by_key{}, sliding::of(duration{2000}, duration{500}), collect_ids{}, duration{0});
          },
          many_keys(), 6, 20, par, 100);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
