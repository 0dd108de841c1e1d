// API features end to end: dead letters, union, keyed connect (stream-table
// enrichment), custom actor stages, idle sources, emit policies.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include "runtime_util.hpp"
#include "sluice/actors/actor_stage.hpp"

using namespace test_util;
using namespace sluice;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() /
           ("sluice-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

struct account {
  int64_t id;
  double balance;
  friend bool operator==(const account&, const account&) = default;
  friend auto operator<=>(const account&, const account&) = default;
};

parsed<account> parse_account(const csv_row& r) {
  if (r.size() != 2)
    return parsed<account>::fail("expected 2 fields, found " + std::to_string(r.size()));
  return account{r.get<int64_t>(0), r.get<double>(1)};
}

void write_accounts(const fs::path& f) {
  std::ofstream out(f);
  out << "id,balance\r\n";
  out << "1,100.5\r\n";
  out << "2,abc\r\n";  // line 3: not a number
  out << "3,7\r\n";
  out << "4\r\n";  // line 5: too few fields
  out << "5,\"1e3\"\r\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_features)

BOOST_AUTO_TEST_CASE(malformed_lines_go_to_the_dead_letter_stream_with_line_and_reason) {
  temp_dir dir;
  write_accounts(dir.path / "accounts.csv");
  pipeline p{"dead_letters"};
  auto good = std::make_shared<collected<account>>();
  auto bad = std::make_shared<collected<dead_letter>>();
  auto src = p.read_csv((dir.path / "accounts.csv").string(), parse_account).name("accounts");
  src.collect(good);
  src.dead_letters().collect(bad);
  auto r = execute(p, config(1));
  require_ok(r);
  BOOST_TEST((sorted(good->items()) == std::vector<account>{{1, 100.5}, {3, 7}, {5, 1000}}));
  auto dl = bad->items();
  BOOST_REQUIRE(dl.size() == 2u);
  std::sort(dl.begin(), dl.end(), [](auto& a, auto& b) { return a.position < b.position; });
  BOOST_TEST(dl[0].operator_name == "accounts");
  BOOST_TEST(dl[0].position == (dir.path / "accounts.csv").string() + ":3");
  BOOST_TEST(dl[0].reason == "field 2: 'abc' is not a number");
  BOOST_TEST(dl[0].raw == "2,abc");
  BOOST_TEST(dl[1].position == (dir.path / "accounts.csv").string() + ":5");
  BOOST_TEST(dl[1].reason == "expected 2 fields, found 1");
}

BOOST_AUTO_TEST_CASE(a_large_csv_file_is_read_in_parallel_byte_ranges_each_line_once) {
  // 6 MB (over text_file_options::parallel_from_bytes) at parallelism 3:
  // three instances read their byte ranges; every row arrives once and every
  // rejected row names its own line, whichever instance read it.
  temp_dir dir;
  const auto path = (dir.path / "big.csv").string();
  std::vector<account> expected;
  std::set<std::string> bad_positions;
  {
    std::ofstream out(path);
    out << "id,balance\n";
    int64_t line = 1;
    for (int64_t id = 1; id <= 400000; ++id) {
      ++line;
      if (id % 50000 == 0) {
        out << id << ",n/a\n";
        bad_positions.insert(path + ":" + std::to_string(line));
      } else {
        out << id << "," << (id % 1000) << ".25\n";
        expected.push_back({id, static_cast<double>(id % 1000) + 0.25});
      }
    }
  }
  BOOST_TEST_REQUIRE(fs::file_size(path) >= text_file_options{}.parallel_from_bytes);
  pipeline p{"parallel_file"};
  auto good = std::make_shared<collected<account>>();
  auto bad = std::make_shared<collected<dead_letter>>();
  auto src = p.read_csv(path, parse_account).name("accounts");
  src.collect(good);
  src.dead_letters().collect(bad);
  auto r = execute(p, config(3));
  require_ok(r);
  BOOST_TEST((sorted(good->items()) == expected));
  std::set<std::string> positions;
  std::set<uint32_t> instances;
  for (auto& d : bad->items()) {
    positions.insert(d.position);
    instances.insert(d.instance);
  }
  BOOST_TEST(positions == bad_positions);
  BOOST_TEST(instances.size() == 3u, "dead letters came from " << instances.size() << " instances");
}

BOOST_AUTO_TEST_CASE(unconsumed_dead_letters_are_written_to_the_dead_letter_file_and_counted) {
  temp_dir dir;
  write_accounts(dir.path / "accounts.csv");
  pipeline p{"dead_letters_file"};
  auto good = std::make_shared<collected<account>>();
  p.read_csv((dir.path / "accounts.csv").string(), parse_account).name("accounts").collect(good);
  auto cfg = config(1);
  cfg.dead_letter_path = (dir.path / "dead.jsonl").string();
  auto r = execute(p, cfg);
  require_ok(r);
  BOOST_TEST(r.dead_letters == 2u);
  BOOST_TEST(r.dead_letter_path == cfg.dead_letter_path);
  std::ifstream in(cfg.dead_letter_path);
  std::string l1, l2, l3;
  BOOST_REQUIRE(std::getline(in, l1));
  BOOST_REQUIRE(std::getline(in, l2));
  BOOST_TEST(!std::getline(in, l3));
  BOOST_TEST(l1.find("\"reason\":\"field 2: 'abc' is not a number\"") != std::string::npos);
  BOOST_TEST(l1.find("accounts.csv:3") != std::string::npos);
  BOOST_TEST(format_summary(p, r, 0.1).find("dead letters: 2 (2 written to") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(union_merges_streams) {
  pipeline p{"union"};
  auto out = std::make_shared<collected<uint64_t>>();
  auto a = p.generate(1000, [](uint64_t i) { return i; }).parallelism(2);
  auto b = p.generate(500, [](uint64_t i) { return 1000 + i; });
  auto c = p.from_collection(std::vector<uint64_t>{5000, 5001});
  a.union_with(b, c).collect(out);
  require_ok(execute(p, config(2)));
  // The union holds every record of every input exactly once: equal as
  // multisets (a lost record made up for by a duplicate must not pass).
  std::vector<uint64_t> expected;
  for (uint64_t i = 0; i < 1500; ++i)
    expected.push_back(i);  // a: 0..999, b: 1000..1499
  expected.push_back(5000);
  expected.push_back(5001);
  BOOST_TEST(sorted(out->items()) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(connect_enriches_a_stream_from_a_keyed_table) {
  // Table side: customer -> segment, fully known before the probe side is
  // joined (probes that arrive first are buffered in state until the segment
  // arrives), so the result does not depend on arrival order.
  struct segment {
    uint32_t customer;
    std::string name;
  };
  struct state {
    std::optional<std::string> segment;
    std::vector<event> waiting;
  };
  using enriched = std::pair<uint32_t, std::string>;
  pipeline p{"enrich"};
  auto out = std::make_shared<collected<enriched>>();
  auto txs = p.generate(4000, [](uint64_t i) { return make_event(i, 21, 100, 0); }).parallelism(2);
  auto segs = p.generate(100, [](uint64_t c) {
    return segment{static_cast<uint32_t>(c), c % 3 ? "retail" : "private"};
  });
  txs.key_by([](const event& e) { return e.customer; })
      .connect(segs.key_by([](const segment& s) { return s.customer; }))
      .process<state, enriched>(
          [](const uint32_t& k, event, state& st, collector<enriched>& o) {
            if (st.segment)
              o.emit({k, *st.segment});
            else
              st.waiting.push_back(event{});
          },
          [](const uint32_t& k, segment s, state& st, collector<enriched>& o) {
            st.segment = s.name;
            for (size_t i = 0; i < st.waiting.size(); ++i)
              o.emit({k, s.name});
            st.waiting.clear();
          })
      .parallelism(3)
      .collect(out);
  require_ok(execute(p, config(3)));
  auto items = out->items();
  BOOST_TEST(items.size() == 4000u);
  for (auto& [c, s] : items)
    BOOST_TEST(s == (c % 3 ? "retail" : "private"));
}

namespace {

caf::behavior multiplier(caf::event_based_actor*, int64_t factor) {
  return {[factor](std::vector<int64_t>& xs) {
    for (auto& x : xs)
      x *= factor;
    return xs;
  }};
}

}  // namespace

BOOST_AUTO_TEST_CASE(custom_actor_stage_processes_every_batch_in_order) {
  pipeline p{"actor_stage"};
  auto out = std::make_shared<collected<int64_t>>();
  auto src = p.generate(10000, [](uint64_t i) { return static_cast<int64_t>(i); });
  src.via_actor<int64_t>("doubler",
                         [](caf::actor_system& sys) { return sys.spawn(multiplier, int64_t{2}); })
      .parallelism(1)
      .collect(out);
  require_ok(execute(p, config(1)));
  auto items = out->items();
  BOOST_REQUIRE(items.size() == 10000u);
  for (size_t i = 0; i < items.size(); ++i)
    BOOST_REQUIRE(items[i] == static_cast<int64_t>(2 * i));  // order kept
}

namespace {

/// A source that has nothing to say until told to stop: it stays idle.
class quiet_source final : public typed_source<event> {
public:
  explicit quiet_source(std::shared_ptr<std::atomic<bool>> stop) : stop_(std::move(stop)) {}
  poll_status poll(size_t) override { return stop_->load() ? poll_status::end : poll_status::idle; }

private:
  std::shared_ptr<std::atomic<bool>> stop_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(idle_input_does_not_stall_event_time) {
  // A busy source and a quiet one feed one window. The quiet source only ends
  // once a window result arrived, which can only happen when its idleness
  // lets the watermark advance; otherwise the job would hang until its timeout.
  auto stop = std::make_shared<std::atomic<bool>>(false);
  pipeline p{"idle"};
  auto results = std::make_shared<collected<result_t>>();
  auto ts = [](const event& e) {
    return timestamp::of(e.ts);
  };
  auto busy = p.generate(4000, [](uint64_t i) { return make_event(i, 3, 4, 0); })
                  .with_watermarks(watermark_strategy<event>::bounded(duration{0}, ts))
                  .rate_limit(20000);
  auto quiet =
      p.add_source<event>("quiet", [stop] { return std::make_unique<quiet_source>(stop); })
          .with_watermarks(
              watermark_strategy<event>::bounded(duration{0}, ts).with_idleness(duration{50}));
  busy.union_with(quiet)
      .key_by([](const event& e) { return e.customer; })
      .window(window::tumbling::of(duration{100}))
      .aggregate(count_sum{})
      .for_each([stop, results](result_t r) {
        results->append({r});
        stop->store(true);
      });
  auto cfg = config(2);
  cfg.timeout = std::chrono::seconds(20);
  auto r = execute(p, cfg);
  require_ok(r);
  BOOST_TEST(results->size() > 0u);
}

BOOST_AUTO_TEST_CASE(reduce_emit_policies_continuous_periodic_and_at_end) {
  auto run_policy = [](emit_policy pol, bool rate_limited) {
    pipeline p{"policies"};
    auto out = std::make_shared<collected<std::pair<uint64_t, uint64_t>>>();
    auto src = p.generate(2000, [](uint64_t i) { return std::pair<uint64_t, uint64_t>{i % 4, 1}; });
    if (rate_limited)
      src.rate_limit(20000);
    src.key_by([](const auto& x) { return x.first; })
        .reduce(
            [](auto a, const auto& b) {
              return std::pair{a.first, a.second + b.second};
            },
            pol)
        .collect(out);
    require_ok(execute(p, config(2)));
    return out->items();
  };
  auto continuous = run_policy(emit_policy::continuous(), false);
  BOOST_TEST(continuous.size() == 2000u);
  auto at_end = sorted(run_policy(emit_policy::at_end(), false));
  BOOST_TEST((at_end ==
              std::vector<std::pair<uint64_t, uint64_t>>{{0, 500}, {1, 500}, {2, 500}, {3, 500}}));
  auto periodic = run_policy(emit_policy::every(duration{20}), true);
  // ~100 ms of input with 20 ms micro-batches: several updates per key, and the
  // last one per key is the final count.
  BOOST_TEST(periodic.size() > 4u);
  BOOST_TEST(periodic.size() < 2000u);
  std::map<uint64_t, uint64_t> last;
  for (auto& [k, v] : periodic)
    last[k] = std::max(last[k], v);
  for (auto& [k, v] : last)
    BOOST_TEST(v == 500u);
}

BOOST_AUTO_TEST_CASE(keyed_running_aggregate_matches_reference_at_any_parallelism) {
  auto run_par = [](uint32_t par) {
    pipeline p{"aggregate"};
    auto out = std::make_shared<collected<std::pair<uint32_t, std::pair<int64_t, int64_t>>>>();
    p.generate(20000, [](uint64_t i) { return make_event(i, 33, 97, 0); })
        .parallelism(par)
        .key_by([](const event& e) { return e.customer; })
        .aggregate(count_sum{}, emit_policy::at_end())
        .parallelism(par)
        .collect(out);
    require_ok(execute(p, config(par)));
    return sorted(out->items());
  };
  std::map<uint32_t, std::pair<int64_t, int64_t>> ref;
  for (uint64_t i = 0; i < 20000; ++i) {
    auto e = make_event(i, 33, 97, 0);
    ++ref[e.customer].first;
    ref[e.customer].second += e.cents;
  }
  std::vector<std::pair<uint32_t, std::pair<int64_t, int64_t>>> expected(ref.begin(), ref.end());
  BOOST_TEST((run_par(1) == expected));
  BOOST_TEST((run_par(4) == expected));
}

BOOST_AUTO_TEST_SUITE_END()
