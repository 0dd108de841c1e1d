#pragma once

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sluice/source/parse.hpp"
#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Options of the text and CSV file sources.
struct text_file_options {
  bool skip_header = false;  ///< Skip the first line (CSV header).
  char delimiter = ',';      ///< CSV field separator.
};

/// Reads a text file line by line (LF or CRLF) and turns each line into a
/// record with `parse(std::string_view line)`, returning `T` or `parsed<T>`. A line that fails
/// to parse (returns `fail`, or throws a std::exception) becomes a dead letter
/// with the file name, line number and reason. Line n belongs to split
/// (n - 1) mod (max parallelism); every instance reads the file and handles
/// the lines of the splits it owns. Its position (byte offset and line
/// number, per split) makes it replayable, also with another parallelism.
///
/// A file that cannot be opened fails the task with the path and the OS error.
template <class T, class Parse>
class text_file_source final : public typed_source<T> {
public:
  text_file_source(std::string path, Parse parse, text_file_options opts)
      : path_(std::move(path)), parse_(std::move(parse)), opts_(opts) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    in_.open(path_, std::ios::binary);
    if (!in_)
      throw std::runtime_error("cannot open input file '" + path_ + "': " + std::strerror(errno));
    range_ = this->splits();
    done_.assign(range_.size(), 0);
  }

  poll_status poll(size_t max_records) override {
    size_t n = 0;
    while (n < max_records) {
      if (!std::getline(in_, line_)) {
        if (in_.bad())
          throw std::runtime_error("error reading '" + path_ + "' after line " +
                                   std::to_string(line_no_));
        return poll_status::end;
      }
      offset_ += line_.size() + (in_.eof() ? 0 : 1);
      const uint64_t no = ++line_no_;
      if (!line_.empty() && line_.back() == '\r')
        line_.pop_back();
      if (no == 1 && opts_.skip_header)
        continue;
      const auto split = static_cast<uint32_t>((no - 1) % range_.count);
      if (!range_.owns(split) || no <= done_[split - range_.begin])
        continue;
      ++n;
      handle(no);
    }
    return poll_status::more;
  }

  /// Lines read so far (the replay position).
  uint64_t line_number() const noexcept { return line_no_; }

protected:
  /// Position of a split = byte offset and line number of the next line to
  /// read (the same for all splits of an instance: it reads them together).
  bool splittable() const noexcept override { return true; }
  void snapshot_split(uint32_t, state::writer& w) override {
    state::encode(w, offset_);
    state::encode(w, line_no_);
  }
  void restore_split(uint32_t s, state::reader& r) override {
    uint64_t offset = 0, line = 0;
    state::decode(r, offset);
    state::decode(r, line);
    // Lines of this split up to `line` were handled by whoever owned it.
    done_[s - range_.begin] = line;
    if (!resume_ || offset < resume_->first)
      resume_ = std::pair{offset, line};
  }
  void splits_restored() override {
    if (!resume_)
      return;
    // Read on from the least advanced split; the others skip what they did.
    std::tie(offset_, line_no_) = *resume_;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset_));
    if (!in_)
      throw std::runtime_error("cannot seek to byte " + std::to_string(offset_) + " of '" + path_ +
                               "'");
  }

private:
  void handle(uint64_t no) {
    this->emit_or_reject([this] { return invoke_parse(); },
                         [&] { return path_ + ":" + std::to_string(no); }, line_);
  }

  parsed<T> invoke_parse() {
    if constexpr (std::is_invocable_v<Parse&, const csv_row&>)
      return std::invoke(parse_, csv_row{line_, opts_.delimiter});
    else
      return std::invoke(parse_, std::string_view{line_});
  }

  std::string path_;
  Parse parse_;
  text_file_options opts_;
  std::ifstream in_;
  std::string line_;
  uint64_t line_no_ = 0;
  uint64_t offset_ = 0;
  split_range range_;
  std::vector<uint64_t>
      done_;  ///< Per owned split: lines up to this one were handled before a restore.
  std::optional<std::pair<uint64_t, uint64_t>> resume_;  ///< (offset, line) to read on from.
};

}  // namespace sluice
