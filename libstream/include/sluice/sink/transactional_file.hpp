#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "sluice/format.hpp"
#include "sluice/sink/part_file.hpp"
#include "sluice/sink/sinks.hpp"

namespace sluice {

/// Options of the exactly-once file sinks (`write_csv_exactly_once`,
/// `write_json_lines_exactly_once`).
struct part_file_options {
  /// Part files compressed with zstd get the suffix ".zst"; read them with
  /// `read_part_file` or `zstd -d`.
  sluice::compression compression = sluice::compression::none;
  int level = 3;  ///< zstd's compression level (1..19)
  /// Called with the path of each staged part file just before it is
  /// published (renamed into place), on whichever instance publishes it, to
  /// hand its records to another system (e.g. alerts to stdout or a socket).
  /// A part published during recovery is handed over again if the crash came
  /// between this call and the rename, so receivers that need each record
  /// once deduplicate by an id in the record. An exception fails the task.
  std::function<void(const std::string& staged_path)> before_publish;
};

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
/// Part files may be zstd-compressed (one frame per file, suffix ".zst").
template <class T>
class transactional_file_sink final : public typed_sink<T> {
public:
  transactional_file_sink(std::string dir, text_format fmt, part_file_options opts = {})
      : dir_(std::move(dir)), fmt_(fmt), opts_(std::move(opts)) {}

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
      publish(current_, fmt::format("{}/part-{}-final{}", dir_, instance_, suffix()));
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
  std::string_view suffix() const noexcept { return part_suffix(opts_.compression); }
  std::string staged_name(uint32_t inst, uint64_t cp) const {
    return fmt::format("{}/part-{}-{:012}{}", pending_dir(), inst, cp, suffix());
  }
  std::string published_name(uint32_t inst, uint64_t cp) const {
    return fmt::format("{}/part-{}-{:012}{}", dir_, inst, cp, suffix());
  }

  void flush() {
    if (buf_.empty())
      return;
    if (!file_.is_open()) {
      current_ = fmt::format("{}/part-{}-inprogress-{}", pending_dir(), instance_, ++seq_);
      file_.open(current_, opts_.compression, opts_.level);
    }
    file_.append(buf_);
    buf_.clear();
  }

  void finish_file() {
    flush();
    file_.finish();
  }

  /// Hands the staged file to `before_publish`, then renames it into place.
  void publish(const std::string& staged, const std::string& published) {
    if (opts_.before_publish)
      opts_.before_publish(staged);
    rename_or_throw(staged, published);
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
      publish(e.path().string(), published_name(inst, cp));
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
          publish(e.path().string(), published_name(inst, cp));
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

  bool parse_staged(const std::string& name, uint32_t& inst, uint64_t& cp) const {
    unsigned long long c = 0;
    unsigned i = 0;
    int used = 0;
    if (std::sscanf(name.c_str(), "part-%u-%12llu%n", &i, &c, &used) != 2 ||
        name.compare(static_cast<size_t>(used), std::string::npos, suffix()) != 0)
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
  part_file_options opts_;
  uint32_t instance_ = 0;
  uint64_t seq_ = 0;
  bool recovered_ = false;
  std::string current_;
  part_writer file_;
  std::string buf_;
};

}  // namespace sluice
