#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/format.hpp"
#include "sluice/operator.hpp"

namespace sluice {

/// Base of sinks: operators without output ports that consume `T`.
template <class T>
class typed_sink : public operator_base {
 public:
  void process(size_t, batch_base& b) override {
    for (auto& r : batch_cast<T>(b).records) consume(std::move(r));
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
    for (auto& x : xs) items_.push_back(std::move(x));
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
    for (auto& r : rs) xs.push_back(std::move(r.value));
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

/// Writes records as text lines to a file (or stdout when path is "-").
/// With parallelism p > 1, instance k writes `<path>.part-<k>`. Writes are
/// buffered and flushed at end of input; this sink is at-least-once on
/// failure (exactly-once file sinks come with checkpoints).
template <class T>
class text_sink final : public typed_sink<T> {
 public:
  text_sink(std::string path, text_format fmt) : path_(std::move(path)), fmt_(fmt) {}
  ~text_sink() override { close_file(); }

  void open(operator_context& ctx) override {
    typed_sink<T>::open(ctx);
    if (path_ == "-") {
      file_ = stdout;
    } else {
      std::string p = ctx.parallelism() > 1 ? path_ + ".part-" + std::to_string(ctx.instance()) : path_;
      file_ = std::fopen(p.c_str(), "wb");
      if (!file_) throw std::runtime_error("cannot open output file '" + p + "': " + std::strerror(errno));
      owned_ = true;
    }
    if (fmt_ == text_format::csv) {
      auto header = format::csv_header<T>();
      if (!header.empty() && path_ != "-") write_line(header);
    }
  }

  void close() override {
    flush();
    close_file();
  }

 protected:
  void consume(record<T>&& r) override {
    if (fmt_ == text_format::csv)
      format::append_csv(buf_, r.value);
    else
      format::append_json(buf_, r.value);
    buf_ += '\n';
    if (buf_.size() >= (1u << 16)) flush();
  }

 private:
  void write_line(const std::string& s) {
    buf_ += s;
    buf_ += '\n';
  }
  void flush() {
    if (!file_ || buf_.empty()) return;
    if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size())
      throw std::runtime_error("cannot write to '" + path_ + "': " + std::strerror(errno));
    buf_.clear();
  }
  void close_file() {
    if (file_ && owned_) std::fclose(file_);
    if (file_ && !owned_) std::fflush(file_);
    file_ = nullptr;
  }

  std::string path_;
  text_format fmt_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  std::string buf_;
};

}  // namespace sluice
