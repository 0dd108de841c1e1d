#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "sluice/format.hpp"
#include "sluice/sink/sinks.hpp"

namespace sluice {

/// Exactly-once file sink: writes text lines into a directory with a
/// two-phase commit on checkpoints (as Flink's FileSink).
///
/// Instance k writes into `<dir>/.pending/part-<k>-inprogress-<n>`. At a
/// checkpoint barrier the file is closed and staged as
/// `.pending/part-<k>-<checkpoint>`; when that checkpoint (or a later one)
/// completes, staged files are published by an atomic rename to
/// `<dir>/part-<k>-<checkpoint>`. On recovery from checkpoint c, staged files
/// up to c are published (the crash may have come between completion and
/// publication) and everything newer or in progress is deleted, so readers of
/// `<dir>/part-*` see every record exactly once. Without checkpoints the file
/// is published at close as `part-<k>-final`. The directory itself is the
/// sink's state, so the sink can be restored with another parallelism.
template <class T>
class transactional_file_sink final : public typed_sink<T> {
public:
  transactional_file_sink(std::string dir, text_format fmt) : dir_(std::move(dir)), fmt_(fmt) {}
  ~transactional_file_sink() override {
    if (file_)
      std::fclose(file_);
  }

  void open(operator_context& ctx) override {
    typed_sink<T>::open(ctx);
    std::error_code ec;
    std::filesystem::create_directories(pending_dir(), ec);
    if (ec)
      throw std::runtime_error(
          fmt::format("cannot create output directory '{}': {}", pending_dir(), ec.message()));
    instance_ = ctx.instance();
  }

  void snapshot(state::snapshot_writer& w) override {
    recover();
    finish_file();
    if (current_.empty())
      return;  // nothing written since the last checkpoint
    rename_or_throw(current_, staged_name(instance_, w.checkpoint()));
    current_.clear();
  }

  void notify_checkpoint_complete(uint64_t id) override {
    recover();
    publish_up_to(id);
  }

  void end_input() override { flush(); }

  void close() override {
    recover();
    finish_file();
    if (!this->context().checkpointing() && !current_.empty()) {
      rename_or_throw(current_, fmt::format("{}/part-{}-final", dir_, instance_));
      current_.clear();
    }
  }

protected:
  void consume(record<T>&& r) override {
    recover();
    if (append_line(buf_, r.value, fmt_))
      flush();
  }

private:
  std::string pending_dir() const { return dir_ + "/.pending"; }
  std::string staged_name(uint32_t inst, uint64_t cp) const {
    return fmt::format("{}/part-{}-{:012}", pending_dir(), inst, cp);
  }

  void start_file() {
    current_ = fmt::format("{}/part-{}-inprogress-{}", pending_dir(), instance_, ++seq_);
    file_ = std::fopen(current_.c_str(), "wb");
    if (!file_)
      throw std::runtime_error(
          fmt::format("cannot create '{}': {}", current_, std::strerror(errno)));
  }

  void flush() {
    if (buf_.empty())
      return;
    if (!file_)
      start_file();
    if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size())
      throw std::runtime_error(
          fmt::format("cannot write '{}': {}", current_, std::strerror(errno)));
    buf_.clear();
  }

  void finish_file() {
    flush();
    if (!file_)
      return;
    if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
      throw std::runtime_error(fmt::format("cannot sync '{}': {}", current_, std::strerror(errno)));
    std::fclose(file_);
    file_ = nullptr;
  }

  static void rename_or_throw(const std::string& from, const std::string& to) {
    std::error_code ec;
    std::filesystem::rename(from, to, ec);
    if (ec)
      throw std::runtime_error(
          fmt::format("cannot rename '{}' to '{}': {}", from, to, ec.message()));
  }

  /// Publishes this instance's staged files of checkpoints up to `id`.
  void publish_up_to(uint64_t id) {
    for (auto& e : std::filesystem::directory_iterator(pending_dir())) {
      uint32_t inst;
      uint64_t cp;
      if (!parse_staged(e.path().filename().string(), inst, cp) || inst != instance_ || cp > id)
        continue;
      std::error_code ec;
      std::filesystem::rename(e.path(), fmt::format("{}/part-{}-{:012}", dir_, inst, cp), ec);
      if (ec)
        throw std::runtime_error(
            fmt::format("cannot publish '{}': {}", e.path().string(), ec.message()));
    }
  }

  /// Once per attempt, before the first output: for every file in .pending
  /// of an instance this one is responsible for (inst % parallelism ==
  /// instance), publish staged files of checkpoints up to the restored one
  /// (none on a fresh start) and delete everything else.
  void recover() {
    if (recovered_)
      return;
    recovered_ = true;
    const uint32_t p = this->context().parallelism();
    const uint64_t restored = this->context().restored_checkpoint();
    for (auto& e : std::filesystem::directory_iterator(pending_dir())) {
      const std::string name = e.path().filename().string();
      uint32_t inst;
      uint64_t cp;
      std::error_code ec;
      if (parse_staged(name, inst, cp)) {
        if (inst % p != instance_)
          continue;
        if (cp <= restored)
          std::filesystem::rename(e.path(), fmt::format("{}/part-{}-{:012}", dir_, inst, cp), ec);
        else
          std::filesystem::remove(e.path(), ec);
      } else if (parse_inprogress(name, inst)) {
        if (inst % p != instance_ || e.path().string() == current_)
          continue;
        std::filesystem::remove(e.path(), ec);
      }
      if (ec)
        throw std::runtime_error(
            fmt::format("cannot recover '{}': {}", e.path().string(), ec.message()));
    }
  }

  static bool parse_staged(const std::string& name, uint32_t& inst, uint64_t& cp) {
    unsigned long long c = 0;
    unsigned i = 0;
    int used = 0;
    if (std::sscanf(name.c_str(), "part-%u-%12llu%n", &i, &c, &used) != 2 ||
        static_cast<size_t>(used) != name.size())
      return false;
    inst = i;
    cp = c;
    return name.find("inprogress") == std::string::npos;
  }
  static bool parse_inprogress(const std::string& name, uint32_t& inst) {
    unsigned i = 0;
    return std::sscanf(name.c_str(), "part-%u-inprogress-", &i) == 1 && (inst = i, true);
  }

  std::string dir_;
  text_format fmt_;
  uint32_t instance_ = 0;
  uint64_t seq_ = 0;
  bool recovered_ = false;
  std::string current_;
  std::FILE* file_ = nullptr;
  std::string buf_;
};

}  // namespace sluice
