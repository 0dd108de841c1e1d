#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/source/line_reader.hpp"
#include "sluice/source/parse.hpp"
#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Options of the text and CSV file sources.
struct text_file_options {
  bool skip_header = false;  ///< Skip the first line (CSV header).
  char delimiter = ',';      ///< CSV field separator.
  /// Files at least this large follow the job's parallelism (each instance
  /// reads its byte ranges); smaller ones are read by one instance, in file
  /// order. `.parallelism(n)` on the stream overrides either.
  uint64_t parallel_from_bytes = 4 << 20;
};

/// Reads a text file line by line (LF or CRLF) and turns each line into a
/// record with `parse(std::string_view line)` (or `parse(const csv_row&)`),
/// returning `T` or `parsed<T>`. A line that fails to parse (returns `fail`,
/// or throws a std::exception) becomes a dead letter named `path:line`.
///
/// Parallel reading: the file is cut into `max parallelism` byte ranges of
/// equal size (the splits); a line belongs to the split its first byte falls
/// in, so every split starts at a line start (as Hadoop's and Flink's
/// delimited input formats align their splits). Instance i of p owns a
/// contiguous run of splits (split_range) and reads only those bytes, split
/// after split, so one instance reads the file in order and n instances read
/// about 1/n of it each. Each split's position (next line start, its line
/// number when known) is checkpointed under the split's key group, so a job
/// restores exactly, also with another parallelism. A restore checks that
/// the file still has the size it had.
///
/// A file that cannot be opened fails the task with the path and the OS error.
template <class T, class Parse>
class text_file_source final : public typed_source<T> {
public:
  text_file_source(std::string path, Parse parse, text_file_options opts)
      : path_(std::move(path)), parse_(std::move(parse)), opts_(opts) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    reader_.emplace(path_);
    range_ = this->splits();
    const uint64_t size = reader_->size();
    split_bytes_ = std::max<uint64_t>(1, (size + range_.count - 1) / range_.count);
    pos_.assign(range_.size(), split_pos{});
    current_ = 0;
    lines_ = {{0, 1}};
  }

  poll_status poll(size_t max_records) override {
    size_t n = 0;
    std::string_view line;
    uint64_t start = 0;
    while (n < max_records) {
      if (current_ >= pos_.size())
        return poll_status::end;
      const uint32_t split = range_.begin + static_cast<uint32_t>(current_);
      auto& sp = pos_[current_];
      if (!sp.started)
        begin_split(split, sp);
      if (sp.next >= split_end(split)) {
        finish_split(sp);
        ++current_;
        continue;
      }
      if (reader_->offset() != sp.next)
        reader_->seek(sp.next);
      if (!reader_->next(line, start)) {
        sp.next = reader_->size();
        continue;
      }
      sp.next = reader_->offset();
      const uint64_t no = sp.line;  // 0: not known yet
      if (sp.line != 0)
        ++sp.line;
      ++lines_read_;
      if (start == 0 && opts_.skip_header)
        continue;
      ++n;
      handle(line, start, no, sp);
    }
    return poll_status::more;
  }

  /// Lines this instance has read since it opened (header included).
  uint64_t lines_read() const noexcept { return lines_read_; }

  /// Bytes of this instance's splits read, of their total.
  std::pair<uint64_t, uint64_t> progress() const noexcept override {
    if (!reader_)
      return {0, 0};
    uint64_t done = 0, total = 0;
    for (size_t k = 0; k < pos_.size(); ++k) {
      const auto split = range_.begin + static_cast<uint32_t>(k);
      const uint64_t begin = std::min<uint64_t>(reader_->size(), uint64_t{split} * split_bytes_);
      const uint64_t end = split_end(split);
      total += end - begin;
      if (pos_[k].started)
        done += std::clamp(pos_[k].next, begin, end) - begin;
    }
    return {done, total};
  }

protected:
  bool splittable() const noexcept override { return true; }

  void snapshot_split(uint32_t s, state::writer& w) override {
    const auto& sp = pos_[s - range_.begin];
    state::encode(w, reader_->size());
    state::encode(w, static_cast<uint8_t>(sp.started ? 1 : 0));
    state::encode(w, sp.next);
    state::encode(w, sp.line);
  }

  void restore_split(uint32_t s, state::reader& r) override {
    uint64_t size = 0, next = 0, line = 0;
    uint8_t started = 0;
    state::decode(r, size);
    state::decode(r, started);
    state::decode(r, next);
    state::decode(r, line);
    if (size != reader_->size())
      throw std::runtime_error("input file '" + path_ + "' changed since the checkpoint: it had " +
                               std::to_string(size) + " bytes, now " +
                               std::to_string(reader_->size()));
    auto& sp = pos_[s - range_.begin];
    sp = split_pos{started != 0, next, line};
    if (sp.started && sp.line != 0)
      lines_.emplace(sp.next, sp.line);
  }

  void splits_restored() override {
    // Read on from the first owned split that is not finished.
    current_ = 0;
    while (current_ < pos_.size() && pos_[current_].started &&
           pos_[current_].next >= split_end(range_.begin + static_cast<uint32_t>(current_)))
      ++current_;
  }

private:
  /// Where a split stands: not started, or the next line start to read and
  /// that line's number (0 when not known: a split that starts inside the file
  /// learns its line numbers only if a dead letter needs one).
  struct split_pos {
    bool started = false;
    uint64_t next = 0;
    uint64_t line = 0;
  };

  uint64_t split_end(uint32_t split) const noexcept {
    return std::min<uint64_t>(reader_->size(), (uint64_t{split} + 1) * split_bytes_);
  }

  void begin_split(uint32_t split, split_pos& sp) {
    sp.started = true;
    sp.next = reader_->align(std::min<uint64_t>(reader_->size(), uint64_t{split} * split_bytes_));
    const auto known = lines_.find(sp.next);
    sp.line = known != lines_.end() ? known->second : 0;
  }

  /// A finished split tells where the next one starts (its line number).
  void finish_split(const split_pos& sp) {
    if (sp.line != 0)
      lines_.emplace(sp.next, sp.line);
  }

  /// The number of the line starting at `start`, counted from the nearest
  /// line start before it whose number is known.
  uint64_t line_at(uint64_t start) {
    auto it = lines_.upper_bound(start);
    --it;  // lines_ holds {0, 1}
    const uint64_t no = it->second + reader_->count_line_ends(it->first, start);
    lines_.emplace(start, no);
    return no;
  }

  void handle(std::string_view line, uint64_t start, uint64_t no, split_pos& sp) {
    this->emit_or_reject([&] { return invoke_parse(line); },
                         [&] {
                           if (no == 0) {
                             no = line_at(start);
                             sp.line = no + 1;
                           }
                           return path_ + ":" + std::to_string(no);
                         },
                         line);
  }

  parsed<T> invoke_parse(std::string_view line) {
    if constexpr (std::is_invocable_v<Parse&, const csv_row&>)
      return std::invoke(parse_, csv_row{line, opts_.delimiter});
    else
      return std::invoke(parse_, line);
  }

  std::string path_;
  Parse parse_;
  text_file_options opts_;
  std::optional<line_reader> reader_;
  split_range range_;
  uint64_t split_bytes_ = 1;
  std::vector<split_pos> pos_;          ///< Per owned split (index split - range_.begin).
  size_t current_ = 0;                  ///< The owned split being read.
  std::map<uint64_t, uint64_t> lines_;  ///< Known line numbers by line start.
  uint64_t lines_read_ = 0;
};

}  // namespace sluice
