#include "sluice/window/session_operator.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/testing/harness.hpp"
#include "window_fixture.hpp"

using namespace sluice;
using namespace sluice::test;
using window::session;
using window::time_window;

namespace {

using session_op = window::session_window_operator<event, uint32_t, by_key, collect_ids>;

std::unique_ptr<session_op> make_op(int64_t gap, int64_t lateness = 0) {
  return std::make_unique<session_op>(by_key{}, session::with_gap(duration{gap}), collect_ids{},
                                      duration{lateness});
}

/// Brute force without late data: per key, sort by time and cut wherever two
/// consecutive records are more than `gap` apart. The operator merges
/// [t, t + gap) windows that intersect with closed ends
/// (a.start <= b.end && b.start <= a.end), so records exactly `gap` apart
/// belong to one session.
std::vector<ids_result> sessions_reference(std::vector<event> evs, int64_t gap) {
  std::sort(evs.begin(), evs.end(), [](const event& a, const event& b) {
    return a.key != b.key ? a.key < b.key : a.ts != b.ts ? a.ts < b.ts : a.id < b.id;
  });
  std::vector<ids_result> out;
  for (size_t i = 0; i < evs.size();) {
    size_t j = i + 1;
    while (j < evs.size() && evs[j].key == evs[i].key && evs[j].ts - evs[j - 1].ts <= gap)
      ++j;
    std::vector<uint32_t> ids;
    for (size_t k = i; k < j; ++k)
      ids.push_back(evs[k].id);
    std::sort(ids.begin(), ids.end());
    out.push_back({evs[i].key, {evs[i].ts, evs[j - 1].ts + gap}, ids});
    i = j;
  }
  return out;
}

/// Reference model of session windows with late data, following the
/// documented semantics (those of time_window_operator, applied to merged
/// sessions): a record opens [t, t + gap) and merges every session of its key
/// it touches; if the merged session is past max timestamp + lateness the
/// record is late; a session fires once when the watermark reaches its max
/// timestamp, and again whenever a late record changes it while it is alive;
/// sessions are dropped when the watermark reaches max timestamp + lateness.
class session_model {
public:
  session_model(int64_t gap, int64_t lateness) : gap_(gap), lateness_(lateness) {}

  void record(const event& e, timestamp wm) {
    auto& list = sessions_[e.key];
    time_window m{e.ts, e.ts + gap_};
    for (bool grown = true; grown;) {  // to a fixpoint, independent of list order
      grown = false;
      for (auto& s : list) {
        if (touches(s.w, m) && (s.w.start < m.start || s.w.end > m.end)) {
          m = {std::min(m.start, s.w.start), std::max(m.end, s.w.end)};
          grown = true;
        }
      }
    }
    if (m.max_timestamp() + duration{lateness_} <= wm) {
      late.push_back(e.id);
      return;
    }
    sess merged{m, {e.id}, false};
    for (auto it = list.begin(); it != list.end();) {
      if (touches(it->w, m)) {
        merged.ids.insert(merged.ids.end(), it->ids.begin(), it->ids.end());
        it = list.erase(it);
      } else {
        ++it;
      }
    }
    if (m.max_timestamp() <= wm)
      fire(e.key, merged);
    list.push_back(std::move(merged));
  }

  void watermark(timestamp wm) {
    for (auto& [key, list] : sessions_) {
      for (auto it = list.begin(); it != list.end();) {
        if (!it->fired && it->w.max_timestamp() <= wm)
          fire(key, *it);
        if (it->w.max_timestamp() + duration{lateness_} <= wm)
          it = list.erase(it);
        else
          ++it;
      }
    }
  }

  std::vector<ids_result> emitted;
  std::vector<uint32_t> late;

private:
  struct sess {
    time_window w;
    std::vector<uint32_t> ids;
    bool fired;
  };
  static bool touches(const time_window& a, const time_window& b) {
    return a.start <= b.end && b.start <= a.end;
  }
  void fire(uint32_t key, sess& s) {
    auto ids = s.ids;
    std::sort(ids.begin(), ids.end());
    emitted.push_back({key, s.w, ids});
    s.fired = true;
  }

  int64_t gap_, lateness_;
  std::map<uint32_t, std::vector<sess>> sessions_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(window_session_operator)

BOOST_AUTO_TEST_CASE(records_within_gap_merge_into_one_session) {
  testing::harness h{make_op(10)};
  h.push(event{1, 0, 0}, timestamp::of(0));
  h.push(event{1, 5, 1}, timestamp::of(5));
  h.push(event{1, 15, 2}, timestamp::of(15));
  h.push(event{1, 40, 3}, timestamp::of(40));
  h.push(event{2, 3, 4}, timestamp::of(3));
  BOOST_TEST(h.as<session_op>().open_sessions() == 3u);
  h.end();
  check_same_results(h.values<ids_result>(),
                     {ids_result{1, {0, 25}, {0, 1, 2}}, ids_result{1, {40, 50}, {3}},
                      ids_result{2, {3, 13}, {4}}},
                     "sessions");
  BOOST_TEST(h.as<session_op>().open_sessions() == 0u);
}

BOOST_AUTO_TEST_CASE(records_exactly_gap_apart_share_a_session) {
  testing::harness h{make_op(10)};
  h.push(event{1, 0, 0}, timestamp::of(0));
  h.push(event{1, 10, 1}, timestamp::of(10));
  h.push(event{1, 21, 2}, timestamp::of(21));  // 11 after the last one: a new session
  h.end();
  check_same_results(h.values<ids_result>(),
                     {ids_result{1, {0, 20}, {0, 1}}, ids_result{1, {21, 31}, {2}}}, "boundary");
}

BOOST_AUTO_TEST_CASE(out_of_order_record_bridges_two_sessions) {
  testing::harness h{make_op(10)};
  h.push(event{1, 0, 0}, timestamp::of(0));
  h.push(event{1, 20, 1}, timestamp::of(20));
  BOOST_TEST(h.as<session_op>().open_sessions() == 2u);
  h.push(event{1, 10, 2}, timestamp::of(10));
  BOOST_TEST(h.as<session_op>().open_sessions() == 1u);
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 30}, {0, 1, 2}}}, "bridged");
}

BOOST_AUTO_TEST_CASE(session_fires_when_watermark_reaches_last_record_plus_gap) {
  testing::harness h{make_op(10)};
  h.push(event{1, 0, 0}, timestamp::of(0));
  h.push(event{1, 4, 1}, timestamp::of(4));
  h.watermark(timestamp::of(12));
  BOOST_TEST(h.output<ids_result>().empty());
  h.watermark(timestamp::of(13));
  auto out = h.output<ids_result>();
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST((out[0].value == ids_result{1, {0, 14}, {0, 1}}));
  BOOST_TEST(out[0].ts.ms == 13);
  BOOST_TEST(h.as<session_op>().open_sessions() == 0u);
}

BOOST_AUTO_TEST_CASE(late_record_goes_to_side_output) {
  testing::harness h{make_op(10)};
  h.push(event{1, 0, 0}, timestamp::of(0));
  h.watermark(timestamp::of(100));
  BOOST_TEST(h.values<ids_result>().size() == 1u);
  h.push(event{1, 5, 1}, timestamp::of(5));
  BOOST_TEST(sorted_ids(h.values<event>(1)) == std::vector<uint32_t>{1});
  h.end();
  BOOST_TEST(h.values<ids_result>().empty());
  BOOST_TEST(h.as<session_op>().open_sessions() == 0u);
}

BOOST_AUTO_TEST_CASE(late_record_within_allowed_lateness_refires_session) {
  testing::harness h{make_op(10, 50)};
  h.push(event{1, 0, 0}, timestamp::of(0));
  h.watermark(timestamp::of(20));
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 10}, {0}}}, "first firing");

  h.push(event{1, 5, 1}, timestamp::of(5));  // merges into the fired session: [0, 15)
  check_same_results(h.values<ids_result>(), {ids_result{1, {0, 15}, {0, 1}}}, "refired");
  BOOST_TEST(h.values<event>(1).empty());

  h.watermark(timestamp::of(63));  // 14 + 50 = 64 not reached
  BOOST_TEST(h.values<ids_result>().empty());
  BOOST_TEST(h.as<session_op>().open_sessions() == 1u);
  h.watermark(timestamp::of(64));
  BOOST_TEST(h.as<session_op>().open_sessions() == 0u);

  h.push(event{1, 3, 2}, timestamp::of(3));  // [3, 13): 12 + 50 <= 64
  BOOST_TEST(sorted_ids(h.values<event>(1)) == std::vector<uint32_t>{2});
  h.end();
  BOOST_TEST(h.values<ids_result>().empty());
}

BOOST_AUTO_TEST_CASE(late_record_extending_a_session_keeps_it_open) {
  testing::harness h{make_op(10)};
  h.push(event{1, 100, 0}, timestamp::of(100));
  h.watermark(timestamp::of(105));
  h.push(event{1, 95, 1}, timestamp::of(95));  // own window [95,105) is due, but it merges
  BOOST_TEST(h.values<event>(1).empty());
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {95, 110}, {0, 1}}}, "merged");
}

BOOST_AUTO_TEST_CASE(matches_brute_force_on_random_out_of_order_data) {
  struct config {
    int64_t gap, disorder, bound;
  };
  // The bound exceeds the disorder by at least 1 ms: with closed-interval
  // merging, a record exactly `gap` after a session that the watermark has
  // just closed would otherwise start a new session, depending on batching.
  const std::vector<config> configs{{10, 20, 21}, {5, 30, 40}, {1, 8, 9}, {25, 0, 1}};
  for (auto seed : seeds()) {
    for (auto& c : configs) {
      BOOST_TEST_CONTEXT("seed " << seed << ", gap " << c.gap << ", disorder " << c.disorder
                                 << ", bound " << c.bound) {
        workload w;
        w.disorder = c.disorder;
        w.max_step = 8;
        const auto batches = make_batches(seed, w);
        testing::harness h{make_op(c.gap)};
        const auto out = drive(h, batches, c.bound, true);
        BOOST_TEST(out.late.empty());
        BOOST_TEST(out.dead.empty());
        const auto expected = sessions_reference(all_events(batches), c.gap);
        BOOST_TEST(expected.size() > 20u, "the workload should cut many sessions");
        check_same_results(values_of(out.results), expected, "sessions");
        check_fired_on_time(out.results);
        BOOST_TEST(h.as<session_op>().open_sessions() == 0u);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(random_late_data_matches_reference_model) {
  const int64_t bound = 5;
  for (auto seed : seeds()) {
    for (int64_t lateness : {0, 20}) {
      for (int64_t gap : {4, 12}) {
        BOOST_TEST_CONTEXT("seed " << seed << ", gap " << gap << ", lateness " << lateness) {
          workload w;
          w.records = 1000;
          w.disorder = 120;
          w.max_step = 10;
          const auto batches = make_batches(seed, w);
          testing::harness h{make_op(gap, lateness)};
          const auto out = drive(h, batches, bound, true);
          session_model model{gap, lateness};
          replay(model, batches, bound);

          BOOST_TEST(!model.late.empty(), "the workload should produce late records");
          std::sort(model.late.begin(), model.late.end());
          BOOST_TEST(sorted_ids(out.late) == model.late);
          check_same_results(values_of(out.results), model.emitted, "emissions");
          check_nothing_lost(out, all_events(batches));
          BOOST_TEST(h.as<session_op>().open_sessions() == 0u);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(record_without_timestamp_goes_to_dead_letters) {
  testing::harness h{make_op(10)};
  h.push(event{1, 0, 0});
  auto dead = h.dead_letters();
  BOOST_TEST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].reason.find("timestamp") != std::string::npos, dead[0].reason);
  BOOST_TEST(h.as<session_op>().open_sessions() == 0u);
  h.push(event{1, 1, 1}, timestamp::of(1));
  h.end();
  check_same_results(h.values<ids_result>(), {ids_result{1, {1, 11}, {1}}}, "after rejection");
}

BOOST_AUTO_TEST_SUITE_END()
