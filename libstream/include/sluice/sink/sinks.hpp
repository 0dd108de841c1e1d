#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/format.hpp"
#include "sluice/operator.hpp"

#include <unistd.h>

namespace sluice {

/// Base of sinks: operators without output ports that consume `T`.
template <class T>
class typed_sink : public operator_base {
public:
  void process(size_t, batch_base& b) override {
    for (auto& r : batch_cast<T>(b).records)
      consume(std::move(r));
  }
  size_t num_ports() const noexcept override { return 0; }
  output_port_base& out(size_t) override { throw std::logic_error("sinks have no output ports"); }

protected:
  virtual void consume(record<T>&& r) = 0;
};

/// Thread-safe result vector shared by all instances of a collect sink; the
/// test side reads it after the job ended.
template <class T>
class collected {
public:
  void append(std::vector<T>&& xs) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& x : xs)
      items_.push_back(std::move(x));
  }
  std::vector<T> items() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return items_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return items_.size();
  }

private:
  mutable std::mutex mtx_;
  std::vector<T> items_;
};

/// Collects records into a `collected<T>` (for tests; at-least-once).
template <class T>
class collect_sink final : public typed_sink<T> {
public:
  explicit collect_sink(std::shared_ptr<collected<T>> target) : target_(std::move(target)) {}

  void process(size_t, batch_base& b) override {
    std::vector<T> xs;
    auto& rs = batch_cast<T>(b).records;
    xs.reserve(rs.size());
    for (auto& r : rs)
      xs.push_back(std::move(r.value));
    target_->append(std::move(xs));
  }

protected:
  void consume(record<T>&&) override {}

private:
  std::shared_ptr<collected<T>> target_;
};

/// Calls a user function for every record, on the sink task's thread. With
/// parallelism above 1 the function is called from several threads at once.
template <class T, class F>
class callback_sink final : public typed_sink<T> {
public:
  explicit callback_sink(F f) : f_(std::move(f)) {}

protected:
  void consume(record<T>&& r) override {
    if constexpr (std::is_invocable_v<F&, T&&, timestamp>)
      std::invoke(f_, std::move(r.value), r.ts);
    else
      std::invoke(f_, std::move(r.value));
  }

private:
  F f_;
};

/// Output formats of the file and stdout sinks.
enum class text_format {
  csv,         ///< One CSV row per record (header row if the type has SLUICE_FIELDS).
  json_lines,  ///< One JSON object or value per line.
};

/// Appends `x` as one text line in format `fmt`; true when `buf` grew past
/// the size at which file sinks write it out.
template <class T>
bool append_line(std::string& buf, const T& x, text_format fmt) {
  if (fmt == text_format::csv)
    format::append_csv(buf, x);
  else
    format::append_json(buf, x);
  buf += '\n';
  return buf.size() >= (1u << 16);
}

/// Writes records as text lines to a file (or stdout when path is "-").
/// With parallelism p > 1, instance k writes `<path>.part-<k>`.
///
/// Without checkpoints the file is written directly. With checkpoints the
/// sink is exactly-once for a bounded job: it appends to
/// `<file>.inprogress`, records the synced length at every checkpoint, cuts
/// the file back to that length when the job is restored, and renames it to
/// `<file>` when the checkpoint after its end completes. (It keeps a
/// per-instance position, so it is restored with the same parallelism.)
/// A job restored from the checkpoint after the sink's end (a crash between
/// that checkpoint and the record of the job's end) publishes the staged file
/// if it has not been yet, and keeps the published one as it is: the output
/// is never emptied or cut. Standard output is at-least-once.
template <class T>
class text_sink final : public typed_sink<T> {
public:
  text_sink(std::string path, text_format fmt) : path_(std::move(path)), fmt_(fmt) {}
  ~text_sink() override { close_file(); }

  void open(operator_context& ctx) override {
    typed_sink<T>::open(ctx);
    if (path_ == "-") {
      file_ = stdout;
      return;
    }
    target_ = ctx.parallelism() > 1 ? path_ + ".part-" + std::to_string(ctx.instance()) : path_;
    staged_ = ctx.checkpointing();
    const std::string file = staged_ ? target_ + ".inprogress" : target_;
    const bool resume = staged_ && ctx.restored_checkpoint() > 0;
    owned_ = true;
    file_ = std::fopen(file.c_str(), resume ? "r+b" : "wb");
    if (!file_ && resume && errno == ENOENT && std::filesystem::exists(target_)) {
      // Published already, if the restored checkpoint is one after this
      // sink's end: `restore` decides.
      missing_staged_ = true;
      return;
    }
    if (!file_)
      throw std::runtime_error("cannot open output file '" + file + "': " + std::strerror(errno));
    if (!resume && fmt_ == text_format::csv) {
      auto header = format::csv_header<T>();
      if (!header.empty())
        append_header(header);
    }
  }

  void snapshot(state::snapshot_writer& w) override {
    if (!owned_)
      return;  // stdout: nothing to restore
    auto out = w.operator_state();
    if (published_) {  // restored after its end: the output is in place
      state::encode(out, published_length_);
      state::encode(out, true);
      return;
    }
    flush();
    if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
      throw std::runtime_error("cannot sync '" + target_ + "': " + std::strerror(errno));
    state::encode(out, static_cast<uint64_t>(std::ftell(file_)));
    state::encode(out, closed_);
    if (closed_)
      final_checkpoint_ = w.checkpoint();
  }

  /// Cuts the file back to what the restored checkpoint had written.
  void restore(const state::snapshot_reader& in) override {
    if (!owned_ || !in.operator_state())
      return;
    state::reader r{*in.operator_state()};
    const auto length = r.number<uint64_t>();
    bool ended = false;  // snapshots before this field was added end here
    if (!r.at_end())
      state::decode(r, ended);
    if (missing_staged_) {
      // No staged file but a published one: right only if the sink had
      // ended at this checkpoint (its file was then renamed) and the
      // published file holds everything it wrote.
      std::error_code ec;
      const auto size = std::filesystem::file_size(target_, ec);
      if (!ended || ec || size < length)
        throw std::runtime_error("cannot restore '" + target_ + "': its staged file '" + target_ +
                                 ".inprogress' is missing");
      published_ = true;
      published_length_ = length;
      return;
    }
    if (ended) {
      // Restored from a checkpoint after the sink's end: publish now what it
      // wrote (the next checkpoint has nothing new to add).
      std::fflush(file_);
      if (::ftruncate(fileno(file_), static_cast<off_t>(length)) != 0)
        throw std::runtime_error("cannot restore '" + target_ + ".inprogress' to " +
                                 std::to_string(length) + " bytes: " + std::strerror(errno));
      close_file();
      std::error_code ec;
      std::filesystem::rename(target_ + ".inprogress", target_, ec);
      if (ec)
        throw std::runtime_error("cannot publish '" + target_ + "': " + ec.message());
      published_ = true;
      published_length_ = length;
      return;
    }
    std::fflush(file_);
    if (::ftruncate(fileno(file_), static_cast<off_t>(length)) != 0 ||
        std::fseek(file_, 0, SEEK_END) != 0)
      throw std::runtime_error("cannot restore '" + target_ + ".inprogress' to " +
                               std::to_string(length) + " bytes: " + std::strerror(errno));
  }

  void close() override {
    flush();
    closed_ = true;
    if (!staged_)
      close_file();
  }

  void notify_checkpoint_complete(uint64_t id) override {
    if (!staged_ || published_ || !final_checkpoint_ || id < *final_checkpoint_ || !file_)
      return;
    close_file();
    std::error_code ec;
    std::filesystem::rename(target_ + ".inprogress", target_, ec);
    if (ec)
      throw std::runtime_error("cannot publish '" + target_ + "': " + ec.message());
  }

protected:
  void consume(record<T>&& r) override {
    if (published_)
      throw std::runtime_error(
          "'" + target_ + "' was published when the job ended; a restored job cannot add to it");
    if (append_line(buf_, r.value, fmt_))
      flush();
  }

private:
  void append_header(const std::string& s) {
    buf_ += s;
    buf_ += '\n';
  }
  void flush() {
    if (!file_ || buf_.empty())
      return;
    if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size())
      throw std::runtime_error("cannot write to '" + path_ + "': " + std::strerror(errno));
    buf_.clear();
    if (!owned_)
      std::fflush(file_);
  }
  void close_file() {
    if (file_ && owned_)
      std::fclose(file_);
    if (file_ && !owned_)
      std::fflush(file_);
    file_ = nullptr;
  }

  std::string path_;
  text_format fmt_;
  std::string target_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  bool staged_ = false;
  bool closed_ = false;
  bool missing_staged_ = false;  ///< Resumed, no staged file, a published one: see restore.
  bool published_ = false;       ///< Restored after its end: the output is in place.
  uint64_t published_length_ = 0;
  std::optional<uint64_t> final_checkpoint_;
  std::string buf_;
};

}  // namespace sluice
