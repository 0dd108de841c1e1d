#pragma once

// The exactly-once oracle: a sequence-number record, its deterministic
// generator, and a checker that counts lost, duplicated, out-of-order and
// mismatched records per key (after Flink's SemanticsCheckMapper and Kafka's
// ALL-RECORDS-DELIVERED verifier).

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sluice/fields.hpp"
#include "sluice/result.hpp"

namespace sluice::testing {

/// One record of the oracle's sequence: the `seq`-th record of key `key`.
struct seq_record {
  uint32_t key = 0;
  uint64_t seq = 0;
  friend bool operator==(const seq_record&, const seq_record&) = default;
};
SLUICE_FIELDS(seq_record, key, seq)

/// Record `i` of the sequence over `keys` keys: key `i % keys`, and `seq`
/// counts that key's records, so `i` = `seq * keys + key`. Computable from
/// `i` alone, hence replayable from any position and at any parallelism.
constexpr seq_record sequence_record(uint64_t i, uint32_t keys) noexcept {
  return seq_record{static_cast<uint32_t>(i % keys), i / keys};
}

/// Records of key `key` among the first `count` records of the sequence.
constexpr uint64_t sequence_records_of_key(uint64_t count, uint32_t keys, uint32_t key) noexcept {
  return key < keys ? count / keys + (key < count % keys ? 1 : 0) : 0;
}

/// Reads a `key,seq` CSV line as written by the CSV sinks.
inline std::optional<seq_record> parse_seq_record(std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  const auto comma = line.find(',');
  if (comma == std::string_view::npos)
    return std::nullopt;
  seq_record r;
  const char* kb = line.data();
  const char* ke = kb + comma;
  const char* sb = ke + 1;
  const char* se = line.data() + line.size();
  auto k = std::from_chars(kb, ke, r.key);
  auto s = std::from_chars(sb, se, r.seq);
  if (k.ec != std::errc{} || k.ptr != ke || s.ec != std::errc{} || s.ptr != se || kb == ke ||
      sb == se)
    return std::nullopt;
  return r;
}

/// What to count as a problem and how much to tell about it.
struct check_options {
  /// The job may still be running or was stopped: missing records are
  /// counted but are not a failure (duplicates and mismatches still are).
  bool partial = false;
  /// Records of a key must appear in increasing `seq` within each part
  /// (holds when every key's records come from one source instance).
  /// Otherwise out-of-order records are counted but not named.
  bool strict_order = false;
  /// Problems named per key in the summary, and keys named.
  size_t examples_per_key = 3;
  size_t max_keys = 10;
};

/// What the checker found. Every count is of records, not of keys.
struct oracle_report {
  uint64_t expected = 0;      ///< records the generator produced
  uint64_t observed = 0;      ///< records (and unreadable lines) read
  uint64_t lost = 0;          ///< expected records never seen
  uint64_t duplicated = 0;    ///< extra copies of records already seen
  uint64_t out_of_order = 0;  ///< records seen after a higher `seq` of their key in the same part
  uint64_t mismatched = 0;    ///< records the generator never produced, or unreadable lines
  uint64_t parts = 0;         ///< parts (files) read
  bool partial = false;
  bool strict_order = false;
  /// Human-readable: the counts, then the first few problems per key.
  std::string summary;

  bool ok() const noexcept {
    return duplicated == 0 && mismatched == 0 && (partial || lost == 0) &&
           (!strict_order || out_of_order == 0);
  }
  /// "lost=0 duplicated=0 mismatched=0": the form scripts grep for.
  std::string counts() const {
    return fmt::format("lost={} duplicated={} mismatched={}", lost, duplicated, mismatched);
  }
};

/// Checks observed records against the first `count` records of the sequence
/// over `keys` keys. Feed it records in any order, grouped in parts (the
/// files of an output directory) if order within a part is to be checked;
/// then ask for the report. Single-threaded; memory is one byte per expected
/// record.
class sequence_checker {
public:
  sequence_checker(uint64_t count, uint32_t keys) : count_(count), keys_(keys == 0 ? 1 : keys) {
    seen_.assign(count_, 0);
    last_in_part_.assign(keys_, 0);
    part_of_last_.assign(keys_, 0);
  }

  /// Starts a new part: order is checked between records of the same part
  /// (not at all if no part was begun).
  void begin_part(std::string name) {
    ++part_;
    part_name_ = std::move(name);
  }

  void observe(const seq_record& r) {
    ++observed_;
    if (r.key >= keys_ || r.seq >= sequence_records_of_key(count_, keys_, r.key)) {
      ++mismatched_;
      if (bad_.size() < max_bad_examples)
        bad_.push_back(fmt::format("key {} seq {}{}: not in the sequence", r.key, r.seq, where()));
      return;
    }
    const uint64_t i = r.seq * keys_ + r.key;
    if (seen_[i] > 0) {
      ++duplicated_;
      auto& ex = problems_[r.key].duplicated;
      if (ex.size() < 16 && (ex.empty() || ex.back() != r.seq))
        ex.push_back(r.seq);
    }
    if (seen_[i] < 255)
      ++seen_[i];
    if (part_ > 0) {
      if (part_of_last_[r.key] == part_ && r.seq < last_in_part_[r.key]) {
        ++out_of_order_;
        auto& ex = problems_[r.key].out_of_order;
        if (ex.size() < 16)
          ex.push_back(fmt::format("seq {} after {}{}", r.seq, last_in_part_[r.key], where()));
      } else {
        last_in_part_[r.key] = r.seq;
        part_of_last_[r.key] = part_;
      }
    }
  }

  /// A line that is not a `key,seq` record.
  void observe_malformed(std::string_view line, uint64_t line_no) {
    ++observed_;
    ++mismatched_;
    if (bad_.size() < max_bad_examples)
      bad_.push_back(
          fmt::format("unreadable line {}{}: '{}'", line_no, where(), line.substr(0, 80)));
  }

  oracle_report report(const check_options& opt = {}) const {
    oracle_report r;
    r.expected = count_;
    r.observed = observed_;
    r.duplicated = duplicated_;
    r.out_of_order = out_of_order_;
    r.mismatched = mismatched_;
    r.parts = part_;
    r.partial = opt.partial;
    r.strict_order = opt.strict_order;
    // Missing records per key, as runs of consecutive seq.
    std::map<uint32_t, std::vector<std::pair<uint64_t, uint64_t>>> lost_runs;
    for (uint32_t k = 0; k < keys_; ++k) {
      const uint64_t n = sequence_records_of_key(count_, keys_, k);
      std::vector<std::pair<uint64_t, uint64_t>>* runs = nullptr;
      for (uint64_t s = 0; s < n; ++s) {
        if (seen_[s * keys_ + k] != 0)
          continue;
        ++r.lost;
        if (!runs)
          runs = &lost_runs[k];
        if (!runs->empty() && runs->back().second + 1 == s)
          runs->back().second = s;
        else if (runs->size() <= opt.examples_per_key)
          runs->emplace_back(s, s);
      }
    }
    r.summary = fmt::format(
        "{} records expected ({} keys), {} read from {} parts: {} out_of_order={}{}\n", count_,
        keys_, observed_, part_, r.counts(), out_of_order_, r.ok() ? "" : " - FAILED");
    std::map<uint32_t, std::string> per_key;
    for (auto& [k, runs] : lost_runs) {
      std::string s = "lost seq ";
      for (size_t j = 0; j < runs.size() && j < opt.examples_per_key; ++j)
        s += (j ? ", " : "") + (runs[j].first == runs[j].second
                                    ? fmt::format("{}", runs[j].first)
                                    : fmt::format("{}..{}", runs[j].first, runs[j].second));
      if (runs.size() > opt.examples_per_key)
        s += ", ...";
      per_key[k] = s;
    }
    for (auto& [k, p] : problems_) {
      std::string& s = per_key[k];
      if (!p.duplicated.empty()) {
        s += s.empty() ? "" : "; ";
        s += "duplicated seq ";
        for (size_t j = 0; j < p.duplicated.size() && j < opt.examples_per_key; ++j)
          s +=
              fmt::format("{}{} (x{})", j ? ", " : "", p.duplicated[j], copies(k, p.duplicated[j]));
        if (p.duplicated.size() > opt.examples_per_key)
          s += ", ...";
      }
      if (opt.strict_order && !p.out_of_order.empty()) {
        s += s.empty() ? "" : "; ";
        s += "out of order: ";
        for (size_t j = 0; j < p.out_of_order.size() && j < opt.examples_per_key; ++j)
          s += (j ? ", " : "") + p.out_of_order[j];
        if (p.out_of_order.size() > opt.examples_per_key)
          s += ", ...";
      }
    }
    size_t shown = 0;
    for (auto& [k, s] : per_key) {
      if (shown++ == opt.max_keys) {
        r.summary +=
            fmt::format("  ... and {} more keys with problems\n", per_key.size() - opt.max_keys);
        break;
      }
      r.summary += fmt::format("  key {}: {}\n", k, s);
    }
    for (auto& b : bad_)
      r.summary += fmt::format("  mismatched: {}\n", b);
    if (mismatched_ > bad_.size())
      r.summary += fmt::format("  ... and {} more mismatched\n", mismatched_ - bad_.size());
    return r;
  }

private:
  static constexpr size_t max_bad_examples = 5;

  struct key_problems {
    std::vector<uint64_t> duplicated;
    std::vector<std::string> out_of_order;
  };

  std::string where() const { return part_name_.empty() ? std::string{} : " in " + part_name_; }
  unsigned copies(uint32_t key, uint64_t seq) const { return seen_[seq * keys_ + key]; }

  uint64_t count_;
  uint32_t keys_;
  std::vector<uint8_t> seen_;  // copies seen per record index, saturating at 255
  std::vector<uint64_t> last_in_part_;
  std::vector<uint64_t> part_of_last_;
  uint64_t part_ = 0;
  std::string part_name_;
  uint64_t observed_ = 0, duplicated_ = 0, out_of_order_ = 0, mismatched_ = 0;
  std::map<uint32_t, key_problems> problems_;
  std::vector<std::string> bad_;
};

/// Feeds every published `part-*` file of an exactly-once output directory
/// (see `write_csv_exactly_once`; `.pending/` is not read) to `checker`, one
/// part per file, files in name order. Fails if the directory or a file
/// cannot be read.
inline result<void> read_output_directory(const std::filesystem::path& dir,
                                          sequence_checker& checker) {
  std::error_code ec;
  std::vector<std::filesystem::path> parts;
  for (std::filesystem::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind("part-", 0) == 0 && it->is_regular_file())
      parts.push_back(it->path());
  if (ec)
    return error{errc::io_error, fmt::format("cannot list '{}': {}", dir.string(), ec.message())};
  std::sort(parts.begin(), parts.end());
  for (auto& p : parts) {
    std::ifstream in{p, std::ios::binary};
    if (!in)
      return error{errc::io_error, fmt::format("cannot open '{}'", p.string())};
    checker.begin_part(p.filename().string());
    std::string line;
    uint64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (auto r = parse_seq_record(line))
        checker.observe(*r);
      else
        checker.observe_malformed(line, line_no);
    }
    if (in.bad())
      return error{errc::io_error, fmt::format("cannot read '{}'", p.string())};
  }
  return {};
}

}  // namespace sluice::testing
