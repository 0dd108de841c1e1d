#pragma once

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <functional>
#include <string>
#include <utility>

#include "sluice/source/parse.hpp"
#include "sluice/source/typed_source.hpp"

namespace sluice {

/// Options of the text and CSV file sources.
struct text_file_options {
  bool skip_header = false;  ///< Skip the first line (CSV header).
  char delimiter = ',';      ///< CSV field separator.
};

/// Reads a text file line by line (LF or CRLF) and turns each line into a
/// record with `parse(std::string_view line) -> parsed<T>`. A line that fails
/// to parse (returns `fail`, or throws a std::exception) becomes a dead letter
/// with the file name, line number and reason. With parallelism p, instance k
/// takes lines k, k + p, ...
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
    if (!in_) throw std::runtime_error("cannot open input file '" + path_ + "': " + std::strerror(errno));
    instance_ = ctx.instance();
    stride_ = ctx.parallelism();
  }

  poll_status poll(size_t max_records) override {
    size_t n = 0;
    while (n < max_records) {
      if (!std::getline(in_, line_)) {
        if (in_.bad()) throw std::runtime_error("error reading '" + path_ + "' after line " + std::to_string(line_no_));
        return poll_status::end;
      }
      offset_ += line_.size() + (in_.eof() ? 0 : 1);
      const uint64_t no = ++line_no_;
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      if (no == 1 && opts_.skip_header) continue;
      if ((no - 1) % stride_ != instance_) continue;
      ++n;
      handle(no);
    }
    return poll_status::more;
  }

  /// Lines read so far (the replay position).
  uint64_t line_number() const noexcept { return line_no_; }

 protected:
  /// Position = byte offset and line number of the next line to read.
  void snapshot_position(state::writer& w) override {
    state::encode(w, offset_);
    state::encode(w, line_no_);
  }
  void restore_position(state::reader& r) override {
    state::decode(r, offset_);
    state::decode(r, line_no_);
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset_));
    if (!in_) throw std::runtime_error("cannot seek to byte " + std::to_string(offset_) + " of '" + path_ + "'");
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
  uint64_t instance_ = 0;
  uint64_t stride_ = 1;
};

}  // namespace sluice
