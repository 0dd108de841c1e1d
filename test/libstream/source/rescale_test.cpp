// Rescalable sources: a snapshot taken at parallelism p and restored at p'
// (also p' = p) replays exactly the records not emitted before the snapshot,
// whichever instances owned their splits before.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "sluice/source/collection.hpp"
#include "sluice/source/generator.hpp"
#include "sluice/source/text_file.hpp"
#include "sluice/state/snapshot.hpp"
#include "sluice/testing/harness.hpp"
#include "sluice/testing/sequence_source.hpp"

using namespace sluice;

namespace {

constexpr uint32_t max_par = 128;

auto identity = [](uint64_t i) {
  return i;
};
using gen_t = generator_source<uint64_t, decltype(identity)>;

/// Runs `make()` at parallelism `p_before`, polling each instance `polls`
/// times of `batch` records and snapshotting it, then restores at `p_after`
/// (each instance gets the keyed sections of the key groups it owns now, as
/// the runtime hands them out) and runs to the end. Returns (before, after).
template <class Op, class V, class Make>
std::pair<std::vector<V>, std::vector<V>> snapshot_and_rescale(Make make, uint32_t p_before,
                                                               uint32_t p_after, size_t batch,
                                                               size_t polls) {
  std::vector<V> before, after;
  std::map<uint32_t, std::string> sections;  // key group -> bytes
  for (uint32_t k = 0; k < p_before; ++k) {
    testing::harness h{make(), k, p_before, max_par};
    h.poll(batch, polls);
    auto out = h.template values<V>();
    before.insert(before.end(), out.begin(), out.end());
    state::snapshot_writer w{max_par, 1};
    h.template as<Op>().snapshot(w);
    BOOST_TEST(!w.has_operator_state(), "a rescalable source keeps no per-instance state");
    for (auto& [g, bytes] : w.keyed_bytes()) {
      BOOST_TEST(!sections.count(g), "split " << g << " written by one instance only");
      sections[g] = bytes;
    }
  }
  for (uint32_t k = 0; k < p_after; ++k) {
    testing::harness h{make(), k, p_after, max_par};
    auto range = split_range::of(k, p_after, max_par);
    std::vector<std::string> mine;
    for (auto& [g, bytes] : sections)
      if (range.owns(g))
        mine.push_back(bytes);
    h.template as<Op>().restore(state::snapshot_reader{std::nullopt, std::move(mine)});
    BOOST_TEST((h.poll(batch) == poll_status::end));
    auto out = h.template values<V>();
    after.insert(after.end(), out.begin(), out.end());
  }
  return {before, after};
}

template <class V>
void require_exactly_once(std::vector<V> before, const std::vector<V>& after,
                          std::vector<V> expected) {
  before.insert(before.end(), after.begin(), after.end());
  std::sort(before.begin(), before.end());
  std::sort(expected.begin(), expected.end());
  BOOST_TEST_REQUIRE(before.size() == expected.size(), "no record lost or duplicated");
  BOOST_TEST((before == expected));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(source_rescale)

BOOST_AUTO_TEST_CASE(generator_restores_exactly_with_any_parallelism) {
  const uint64_t n = 5000;
  std::vector<uint64_t> all(n);
  for (uint64_t i = 0; i < n; ++i)
    all[i] = i;
  for (auto [pb, pa] :
       std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {2, 2}, {2, 4}, {4, 1}, {3, 5}, {5, 2}}) {
    BOOST_TEST_CONTEXT(pb << " -> " << pa) {
      auto [before, after] = snapshot_and_rescale<gen_t, uint64_t>(
          [&] { return std::make_unique<gen_t>(n, identity); }, pb, pa, 97, 7);
      BOOST_TEST(!before.empty());
      BOOST_TEST(!after.empty());
      require_exactly_once(before, after, all);
    }
  }
}

BOOST_AUTO_TEST_CASE(generator_with_unchanged_parallelism_resumes_in_the_original_order) {
  // What a failure-free instance emits after its first 7 * 97 records is
  // exactly what the restored instance emits, in the same order.
  const uint64_t n = 3000;
  for (uint32_t p : {1u, 3u}) {
    testing::harness ref{std::make_unique<gen_t>(n, identity), 1 % p, p, max_par};
    ref.poll(97, 7);
    ref.values<uint64_t>();
    state::snapshot_writer w{max_par, 1};
    ref.as<gen_t>().snapshot(w);
    ref.poll(97);
    auto expected = ref.values<uint64_t>();
    std::vector<std::string> sections;
    for (auto& [g, bytes] : w.keyed_bytes())
      sections.push_back(bytes);
    testing::harness h{std::make_unique<gen_t>(n, identity), 1 % p, p, max_par};
    h.as<gen_t>().restore(state::snapshot_reader{std::nullopt, std::move(sections)});
    h.poll(97);
    BOOST_TEST(h.values<uint64_t>() == expected, "parallelism " << p);
  }
}

BOOST_AUTO_TEST_CASE(a_restored_instance_lets_lagging_splits_catch_up_first) {
  // Instance 1 of 2 had read four times as far as instance 0 when the
  // snapshot was taken; at parallelism 3 the middle instance owns splits of
  // both. It must emit its indices in order (within one round of turns), so
  // that records of a source in event-time order do not turn late behind
  // the splits that were ahead: the laggards go first.
  const uint64_t n = 20000;
  std::map<uint32_t, std::string> sections;
  for (uint32_t k = 0; k < 2; ++k) {
    testing::harness h{std::make_unique<gen_t>(n, identity), k, 2, max_par};
    h.poll(64, k == 0 ? 10 : 40);
    state::snapshot_writer w{max_par, 1};
    h.as<gen_t>().snapshot(w);
    for (auto& [g, bytes] : w.keyed_bytes())
      sections[g] = bytes;
  }
  for (uint32_t k = 0; k < 3; ++k) {
    testing::harness h{std::make_unique<gen_t>(n, identity), k, 3, max_par};
    auto range = split_range::of(k, 3, max_par);
    std::vector<std::string> mine;
    for (auto& [g, bytes] : sections)
      if (range.owns(g))
        mine.push_back(bytes);
    h.as<gen_t>().restore(state::snapshot_reader{std::nullopt, std::move(mine)});
    h.poll(64);
    uint64_t highest = 0, worst = 0;
    for (auto i : h.values<uint64_t>()) {
      highest = std::max(highest, i);
      worst = std::max(worst, highest - i);
    }
    BOOST_TEST(worst < max_par,
               "instance " << k << ": an index " << worst << " below one already emitted");
  }
}

BOOST_AUTO_TEST_CASE(collection_restores_exactly_with_other_parallelism) {
  std::vector<std::string> v;
  for (int i = 0; i < 700; ++i)
    v.push_back("item-" + std::to_string(i));
  auto items = std::make_shared<const std::vector<std::string>>(v);
  using coll_t = collection_source<std::string>;
  for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{2, 4}, {4, 1}, {1, 3}}) {
    BOOST_TEST_CONTEXT(pb << " -> " << pa) {
      auto [before, after] = snapshot_and_rescale<coll_t, std::string>(
          [&] { return std::make_unique<coll_t>(items); }, pb, pa, 31, 3);
      require_exactly_once(before, after, v);
    }
  }
}

BOOST_AUTO_TEST_CASE(text_file_restores_exactly_with_other_parallelism) {
  auto path = std::filesystem::temp_directory_path() /
              ("sluice-rescale-" + std::to_string(::getpid()) + ".txt");
  std::vector<std::string> lines;
  {
    std::ofstream f{path};
    f << "header\n";
    for (int i = 0; i < 900; ++i) {
      lines.push_back("line-" + std::to_string(i));
      f << lines.back() << (i % 3 == 0 ? "\r\n" : "\n");
    }
  }
  auto parse = [](std::string_view s) {
    return parsed<std::string>{std::string{s}};
  };
  using file_t = text_file_source<std::string, decltype(parse)>;
  for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {2, 4}, {4, 1}, {3, 2}}) {
    BOOST_TEST_CONTEXT(pb << " -> " << pa) {
      auto [before, after] = snapshot_and_rescale<file_t, std::string>(
          [&] {
            return std::make_unique<file_t>(path.string(), parse, text_file_options{true, ','});
          },
          pb, pa, 13, 5);
      BOOST_TEST(!before.empty());
      require_exactly_once(before, after, lines);
    }
  }
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(oracle_sequence_keeps_every_key_on_one_instance_in_order_across_rescaling) {
  for (uint32_t keys : {5u, 128u, 300u}) {
    const uint64_t n = 4000;
    std::vector<testing::seq_record> all;
    for (uint64_t i = 0; i < n; ++i)
      all.push_back(testing::sequence_record(i, keys));
    auto less = [](const testing::seq_record& a, const testing::seq_record& b) {
      return std::pair{a.key, a.seq} < std::pair{b.key, b.seq};
    };
    std::sort(all.begin(), all.end(), less);
    for (auto [pb, pa] : std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {2, 3}, {4, 2}}) {
      BOOST_TEST_CONTEXT(keys << " keys, " << pb << " -> " << pa) {
        // Per instance, each key's seq must continue where the checkpoint left
        // it: the keyed state downstream expects exactly that.
        std::map<uint32_t, uint64_t> next;
        std::vector<testing::seq_record> got;
        auto run_phase = [&](uint32_t p, std::vector<std::string>* in,
                             std::map<uint32_t, std::string>* out, size_t polls) {
          for (uint32_t k = 0; k < p; ++k) {
            testing::harness h{std::make_unique<testing::sequence_source>(n, keys), k, p, max_par};
            if (in) {
              std::vector<std::string> mine;
              auto range = split_range::of(k, p, max_par);
              for (auto& [g, bytes] : *out)
                if (range.owns(g))
                  mine.push_back(bytes);
              h.as<testing::sequence_source>().restore(
                  state::snapshot_reader{std::nullopt, std::move(mine)});
            }
            h.poll(37, polls);
            for (auto& r : h.values<testing::seq_record>()) {
              BOOST_TEST(r.seq == next[r.key], "key " << r.key << " in order without gaps");
              next[r.key] = r.seq + 1;
              got.push_back(r);
            }
            if (!in) {
              state::snapshot_writer w{max_par, 1};
              h.as<testing::sequence_source>().snapshot(w);
              for (auto& [g, bytes] : w.keyed_bytes())
                (*out)[g] = bytes;
            }
          }
        };
        std::map<uint32_t, std::string> sections;
        std::vector<std::string> dummy;
        run_phase(pb, nullptr, &sections, 9);
        run_phase(pa, &dummy, &sections, 1000000);
        std::sort(got.begin(), got.end(), less);
        BOOST_TEST_REQUIRE(got.size() == all.size());
        BOOST_TEST((got == all));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(oracle_sequence_spreads_keys_evenly_over_instances) {
  for (uint32_t keys : {16u, 100u, 128u, 300u}) {
    for (uint32_t p : {2u, 3u, 4u}) {
      std::vector<size_t> per_instance;
      for (uint32_t k = 0; k < p; ++k) {
        testing::harness h{std::make_unique<testing::sequence_source>(keys * 10, keys), k, p,
                           max_par};
        h.poll(1000);
        std::set<uint32_t> mine;
        for (auto& r : h.values<testing::seq_record>())
          mine.insert(r.key);
        per_instance.push_back(mine.size());
      }
      const auto [lo, hi] = std::minmax_element(per_instance.begin(), per_instance.end());
      BOOST_TEST(*hi - *lo <= 2u + keys / max_par, keys << " keys over " << p << " instances");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
