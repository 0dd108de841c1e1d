// Local recovery end to end (`--recovery local`): an injected failure in one
// instance of a window, a keyed process with processing-time timers, a
// two-input join, an operator after a union of several sources and a custom
// actor stage. Each gives exactly the failure-free output, and the job
// report says that instance alone restarted. The sinks here are collect
// sinks, which are not restarted: a global restart would make them collect
// duplicates, so an exact result also shows that nothing restarted but the
// failed instance.
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <filesystem>
#include <map>
#include <set>

#include "runtime_util.hpp"
#include "sluice/actors/actor_stage.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

using kv = std::pair<uint64_t, uint64_t>;

struct state_dir {
  fs::path path;
  explicit state_dir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("sluice-local-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~state_dir() { fs::remove_all(path); }
};

runtime_config local_config(const state_dir& dir, uint32_t par, std::string faults) {
  auto cfg = config(par);
  cfg.state_dir = (dir.path / "state").string();
  cfg.checkpoints.interval = std::chrono::milliseconds(30);
  cfg.restart = "fixed-delay:attempts=3,delay=5ms";
  cfg.recovery = "local";
  cfg.faults = std::move(faults);
  return cfg;
}

void require_local_recovery_of(const actors::job_report& r, const std::string& instance) {
  for (auto& f : r.failures)
    BOOST_TEST_MESSAGE("failure: " << f);
  for (auto& rec : r.recoveries)
    BOOST_TEST_MESSAGE("recovery: " << rec.describe());
  for (auto& n : r.notes)
    BOOST_TEST_MESSAGE("note: " << n);
  require_ok(r);
  BOOST_TEST(r.failures.size() == 1u);
  BOOST_REQUIRE(r.recoveries.size() == 1u);
  BOOST_TEST(r.recoveries[0].mode == "local", r.recoveries[0].describe());
  BOOST_TEST(r.recoveries[0].instance == instance);
  BOOST_TEST(r.recoveries[0].duration_ms >= 0);
  BOOST_TEST(r.local_restarts == 1u);
  BOOST_TEST(r.restarts == 1u);
}

constexpr int64_t disorder = 200;

/// Tumbling 100 ms windows of count and sum per customer, brute force.
std::vector<result_t> reference_windows(uint64_t n, uint64_t seed, uint32_t customers) {
  std::map<std::tuple<uint32_t, int64_t>, std::pair<int64_t, int64_t>> acc;
  for (uint64_t i = 0; i < n; ++i) {
    auto e = make_event(i, seed, customers, disorder);
    const int64_t start = e.ts - ((e.ts % 100) + 100) % 100;
    auto& x = acc[{e.customer, start}];
    ++x.first;
    x.second += e.cents;
  }
  std::vector<result_t> out;
  for (auto& [k, v] : acc)
    out.push_back(result_t{std::get<0>(k), {std::get<1>(k), std::get<1>(k) + 100}, v});
  return sorted(out);
}

constexpr uint64_t window_events = 12000;
constexpr uint32_t window_customers = 50;

/// Tumbling 100 ms windows of count and sum per customer at parallelism 2
/// over events of `seed`, with local recovery and `faults`.
std::pair<actors::job_report, std::vector<result_t>> run_windows(const state_dir& dir,
                                                                 uint64_t seed,
                                                                 std::string faults) {
  auto out = std::make_shared<collected<result_t>>();
  pipeline p{"local-window"};
  p.generate(window_events,
             [seed](uint64_t i) { return make_event(i, seed, window_customers, disorder); })
      .with_watermarks(watermark_strategy<event>::bounded(
          duration{disorder}, [](const event& e) { return timestamp::of(e.ts); }))
      .rate_limit(12000)
      .parallelism(2)
      .key_by([](const event& e) { return e.customer; })
      .window(window::tumbling::of(duration{100}))
      .aggregate(count_sum{})
      .name("window")
      .parallelism(2)
      .collect(out);
  auto r = execute(p, local_config(dir, 2, std::move(faults)));
  return {r, sorted(out->items())};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(local_recovery)

BOOST_AUTO_TEST_CASE(a_failed_window_instance_recovers_alone_with_exact_output) {
  state_dir dir{"window"};
  auto [r, got] = run_windows(dir, 7, "throw:operator=window,instance=1,record=3500");
  require_local_recovery_of(r, "window#1");
  BOOST_TEST(r.recoveries[0].restored_from > 0u);
  BOOST_TEST((got == reference_windows(window_events, 7, window_customers)));
  // The replacement counts on from its predecessor's figures: the summary
  // shows every record once.
  uint64_t window_in = 0, window_out = 0;
  for (auto& m : r.metrics)
    if (m.name == "window")
      window_in += m.records_in, window_out += m.records_out;
  BOOST_TEST(window_in == window_events);
  BOOST_TEST(window_out == got.size());
}

BOOST_AUTO_TEST_CASE(two_instances_failing_together_both_recover_alone) {
  // Both instances of the window fail at their 3000th record, at about the
  // same moment: one waits for the other's recovery (they do not feed each
  // other), then recovers alone too.
  state_dir dir{"two"};
  auto [r, got] = run_windows(dir, 9,
                              "throw:operator=window,instance=0,record=3000;"
                              "kill:operator=window,instance=1,record=3000");
  for (auto& rec : r.recoveries)
    BOOST_TEST_MESSAGE("recovery: " << rec.describe());
  require_ok(r);
  BOOST_REQUIRE(r.recoveries.size() == 2u);
  BOOST_TEST(r.recoveries[0].mode == "local");
  BOOST_TEST(r.recoveries[1].mode == "local");
  BOOST_TEST(r.local_restarts == 2u);
  BOOST_TEST((got == reference_windows(window_events, 9, window_customers)));
}

BOOST_AUTO_TEST_CASE(an_operator_after_a_union_of_sources_recovers_alone) {
  state_dir dir{"union"};
  const uint64_t n = 4000;
  auto out = std::make_shared<collected<kv>>();
  pipeline p{"local-union"};
  auto a = p.generate(n, [](uint64_t i) { return kv{i % 17, 1}; }).rate_limit(5000).name("a");
  auto b = p.generate(n, [](uint64_t i) { return kv{i % 17, 10}; }).rate_limit(4000).name("b");
  auto c = p.generate(n, [](uint64_t i) { return kv{i % 17, 100}; }).rate_limit(6000).name("c");
  a.union_with(b, c)
      .map([](kv x) {
        return kv{x.first, x.second * 2};
      })
      .name("double")
      .parallelism(2)
      .collect(out);
  auto r = execute(p, local_config(dir, 2, "throw:operator=double,instance=0,record=2500"));
  require_local_recovery_of(r, "double#0");
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> got;  // key -> (records, sum)
  for (auto& [k, v] : out->items())
    ++got[k].first, got[k].second += v;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> want;
  for (uint64_t i = 0; i < n; ++i)
    for (uint64_t v : {1u, 10u, 100u})
      ++want[i % 17].first, want[i % 17].second += 2 * v;
  BOOST_TEST((got == want));
}

BOOST_AUTO_TEST_CASE(a_two_input_join_instance_recovers_alone) {
  state_dir dir{"join"};
  const uint64_t n = 3000;
  using pair_t = std::pair<uint64_t, uint64_t>;
  auto out = std::make_shared<collected<pair_t>>();
  auto run = [&](std::string faults) {
    pipeline p{"local-join"};
    auto ts = [](const kv& x) {
      return timestamp::of(static_cast<int64_t>(x.second));
    };
    auto left = p.generate(n,
                           [](uint64_t i) {
                             return kv{i % 23, i};
                           })
                    .with_watermarks(watermark_strategy<kv>::bounded(duration{0}, ts))
                    .rate_limit(4000)
                    .name("left");
    auto right = p.generate(n,
                            [](uint64_t i) {
                              return kv{i % 23, i};
                            })
                     .with_watermarks(watermark_strategy<kv>::bounded(duration{0}, ts))
                     .rate_limit(3000)
                     .name("right");
    left.join(right)
        .where([](const kv& x) { return x.first; })
        .equal_to([](const kv& x) { return x.first; })
        .window(window::tumbling::of(duration{200}))
        .apply([](const kv& l, const kv& r) {
          return pair_t{l.second, r.second};
        })
        .name("join")
        .parallelism(2)
        .collect(out);
    return execute(p, local_config(dir, 2, std::move(faults)));
  };
  auto r = run("throw:operator=join,instance=1,record=1800");
  require_local_recovery_of(r, "join#1");
  // Brute force: equal keys in the same 200 ms window.
  std::vector<pair_t> want;
  for (uint64_t i = 0; i < n; ++i)
    for (uint64_t j = 0; j < n; ++j)
      if (i % 23 == j % 23 && i / 200 == j / 200)
        want.emplace_back(i, j);
  BOOST_TEST((sorted(out->items()) == sorted(want)));
}

struct tick_state {
  uint64_t count = 0;
  uint64_t epoch = 0;  ///< Processing-time timers fired for the key so far.
  bool timer = false;
};
SLUICE_FIELDS(tick_state, count, epoch, timer)

namespace {
/// (key, count, epoch).
using tick = std::tuple<uint64_t, uint64_t, uint64_t>;
}  // namespace

BOOST_AUTO_TEST_CASE(a_keyed_process_with_processing_time_timers_recovers_alone) {
  // Timers fire at moments of processing time: a replacement that did not
  // fire them where its predecessor did would carry a different epoch on.
  state_dir dir{"timers"};
  const uint64_t n = 8000;
  const uint64_t keys = 13;
  auto out = std::make_shared<collected<tick>>();
  pipeline p{"local-timers"};
  p.generate(n,
             [keys](uint64_t i) {
               return kv{i % keys, 1};
             })
      .rate_limit(10000)
      .parallelism(2)
      .key_by([](const kv& x) { return x.first; })
      .process(
          [](const uint64_t& k, kv, tick_state& s, process_context<uint64_t>& ctx,
             collector<tick>& c) {
            ++s.count;
            if (!s.timer) {
              s.timer = true;
              ctx.register_processing_time_timer(ctx.current_processing_time() + duration{3});
            }
            c.emit(tick{k, s.count, s.epoch});
          },
          [](const uint64_t&, timestamp, tick_state& s, process_context<uint64_t>&,
             collector<tick>&) {
            s.timer = false;
            ++s.epoch;
          })
      .name("ticks")
      .parallelism(2)
      .collect(out);
  auto r = execute(p, local_config(dir, 2, "throw:operator=ticks,instance=0,record=2000"));
  require_local_recovery_of(r, "ticks#0");
  // Per key: counts 1..n/keys exactly once, epochs never going back.
  std::map<uint64_t, std::vector<std::pair<uint64_t, uint64_t>>> by_key;
  for (auto& [k, count, epoch] : out->items())
    by_key[k].emplace_back(count, epoch);
  BOOST_TEST(by_key.size() == keys);
  uint64_t epochs = 0;
  for (auto& [k, v] : by_key) {
    std::sort(v.begin(), v.end());
    const uint64_t want = n / keys + (k < n % keys ? 1 : 0);
    BOOST_TEST_REQUIRE(v.size() == want, "key " << k);
    for (uint64_t j = 0; j < v.size(); ++j) {
      BOOST_TEST_REQUIRE(v[j].first == j + 1, "key " << k << " count");
      if (j > 0)
        BOOST_TEST_REQUIRE(v[j].second >= v[j - 1].second, "key " << k << " epoch went back");
    }
    epochs += v.back().second;
  }
  BOOST_TEST(epochs > keys);  // timers did fire along the way
}

namespace {

using ledger_actor = actors::stateful_stage_actor<int64_t, std::string, int64_t>;

struct ledger_state {
  int64_t balance = 0;
};

/// Adds i % 7 - 3 to a balance for every record i and answers
/// "i:balance"; its state is the balance. It dies once at record `die_at`.
ledger_actor::behavior_type ledger(ledger_actor::stateful_pointer<ledger_state> self,
                                   std::shared_ptr<std::atomic<bool>> died, int64_t die_at) {
  return {
      [self, died, die_at](std::vector<int64_t>& xs) {
        std::vector<std::string> out;
        for (auto i : xs) {
          if (i == die_at && !died->exchange(true))
            throw std::runtime_error("ledger actor died");
          self->state.balance += i % 7 - 3;
          out.push_back(std::to_string(i) + ":" + std::to_string(self->state.balance));
        }
        return out;
      },
      [self](actors::snapshot_atom, uint64_t) { return self->state.balance; },
      [self](actors::restore_atom, int64_t balance) { self->state.balance = balance; },
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_custom_actor_stage_whose_actor_dies_recovers_alone) {
  state_dir dir{"stage"};
  const int64_t n = 5000;
  auto out = std::make_shared<collected<std::string>>();
  auto died = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"local-stage"};
  p.generate(static_cast<uint64_t>(n), [](uint64_t i) { return static_cast<int64_t>(i); })
      .rate_limit(8000)
      .via_actor(
          "ledger",
          [died](caf::actor_system& sys) { return sys.spawn(ledger, died, int64_t{3000}); },
          actors::with_state<int64_t>)
      .collect(out);
  auto r = execute(p, local_config(dir, 1, ""));
  require_local_recovery_of(r, "ledger#0");
  BOOST_TEST(died->load());
  std::vector<std::string> want;
  int64_t balance = 0;
  for (int64_t i = 0; i < n; ++i) {
    balance += i % 7 - 3;
    want.push_back(std::to_string(i) + ":" + std::to_string(balance));
  }
  BOOST_TEST((sorted(out->items()) == sorted(want)));
}

BOOST_AUTO_TEST_CASE(without_memory_for_the_logs_the_job_restarts_globally_and_says_why) {
  state_dir dir{"nomemory"};
  const uint64_t n = 6000;
  auto out = std::make_shared<collected<kv>>();
  pipeline p{"local-fallback"};
  p.generate(n,
             [](uint64_t i) {
               return kv{i % 13, 1};
             })
      .rate_limit(12000)
      .parallelism(2)
      .key_by([](const kv& x) { return x.first; })
      .reduce(
          [](kv a, const kv& b) {
            return kv{a.first, a.second + b.second};
          },
          emit_policy::at_end())
      .name("count")
      .parallelism(2)
      .collect(out);
  auto cfg = local_config(dir, 2, "throw:operator=count,instance=1,record=1500");
  cfg.inflight_log_bytes = 1;  // every log is over the bound at once
  auto r = execute(p, cfg);
  for (auto& rec : r.recoveries)
    BOOST_TEST_MESSAGE("recovery: " << rec.describe());
  require_ok(r);
  BOOST_REQUIRE(r.recoveries.size() == 1u);
  BOOST_TEST(r.recoveries[0].mode == "global");
  BOOST_TEST(r.recoveries[0].reason.find("--inflight-log-mb") != std::string::npos,
             r.recoveries[0].reason);
  BOOST_TEST(r.local_restarts == 0u);
  const auto items = out->items();
  std::map<uint64_t, uint64_t> got(items.begin(), items.end());
  std::map<uint64_t, uint64_t> want;
  for (uint64_t i = 0; i < n; ++i)
    ++want[i % 13];
  BOOST_TEST((got == want));
}

BOOST_AUTO_TEST_SUITE_END()
