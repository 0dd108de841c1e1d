#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/dead_letter.hpp"
#include "sluice/result.hpp"

namespace sluice::actors {

/// The file where dead letters that no stream of the pipeline consumes are
/// appended as JSON lines (one per letter: operator, instance, position,
/// reason, raw; `format::append_json_string` makes every line valid JSON
/// whatever bytes the raw input held).
///
/// Without checkpoints, letters are appended as they arrive and the file is
/// flushed when the job ends. In a checkpointed job they are exactly-once
/// output, staged per checkpoint and published on completion as the
/// exactly-once file sinks do:
///
/// - A task tags each letter with the checkpoint it last snapshotted (its
///   *epoch*; 0 before any, the restored checkpoint after a restore).
///   A letter of epoch `e` comes from input that every checkpoint after `e`
///   covers and that a restore from `e` or earlier replays.
/// - `append` stages a letter in `<staging>/staged-<epoch>.jsonl`; `sync`
///   makes what was staged durable, and the supervisor calls it before a
///   checkpoint can complete (the letters of its epochs arrive before its
///   last acknowledgement: one mailbox, or one ordered link per node).
/// - `publish(c)` on the completion of checkpoint `c` appends the staged
///   letters of epochs below `c` to the file, syncs it, records `c` and the
///   file's length in `<staging>/published` (atomic rename), then deletes
///   those staged files.
/// - `restart_from(r)` when an attempt starts from checkpoint `r` (0: from
///   the beginning): cuts the file back to its recorded length (a publish
///   interrupted by a crash is redone), forgets staged files already
///   published, publishes the epochs below `r` and drops the others (their
///   input is replayed and rejected again).
///
/// So after any number of `kill -9`s every rejected input line appears in
/// the file exactly once. Used by the supervisor's thread only; no CAF.
class dead_letter_file {
public:
  explicit dead_letter_file(std::string path) : path_(std::move(path)) {}
  ~dead_letter_file();
  dead_letter_file(const dead_letter_file&) = delete;
  dead_letter_file& operator=(const dead_letter_file&) = delete;

  /// Stages letters in directory `dir` from now on (created with the first
  /// letter: a job without dead letters touches no file); call
  /// `restart_from` before the first `append`.
  void stage_in(std::string dir) { staging_ = std::move(dir); }
  bool staged() const noexcept { return !staging_.empty(); }

  /// Appends `letters` of `epoch` (staged, or straight to the file); an
  /// error names the file and the cause.
  result<void> append(uint64_t epoch, const std::vector<dead_letter>& letters);
  /// Makes the staged letters durable (fdatasync of what changed).
  result<void> sync();
  /// Checkpoint `completed` completed: publishes the epochs below it.
  result<void> publish(uint64_t completed);
  /// An attempt starts from checkpoint `restored` (0: none): see above.
  result<void> restart_from(uint64_t restored);

  /// Flushes; returns the path when this run wrote anything to it, else "".
  std::string finish();

  /// Letters written to the file (published, when staged) by this run.
  uint64_t count() const noexcept { return count_; }

private:
  struct staged_file {
    std::FILE* f = nullptr;
    uint64_t letters = 0;
    bool dirty = false;
  };
  std::string staged_path(uint64_t epoch) const;
  result<void> load_published();
  result<void> write_published();
  /// Syncs, then closes the open staged files of epochs below `below`.
  result<void> close_staged(uint64_t below);
  result<uint64_t> publish_one(int out, const std::string& file);

  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t count_ = 0;
  std::string staging_;
  std::map<uint64_t, staged_file> open_;  ///< staged files written by this attempt, by epoch
  uint64_t published_upto_ = 0;           ///< epochs below it are in the file
  uint64_t published_length_ = 0;         ///< the file's length after the last publish
  bool loaded_ = false;                   ///< the staging directory exists and `published` was read
  bool dir_dirty_ = false;                ///< a staged file was created since the last sync
};

}  // namespace sluice::actors
