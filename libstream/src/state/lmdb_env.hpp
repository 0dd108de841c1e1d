#pragma once

// Thin RAII plumbing over LMDB for libstream's durable stores (private to
// libstream): an environment with named databases, transactions that are
// aborted unless committed, a memory map that grows when it fills up, and
// the process-wide registry that opens each directory once.

#include <lmdb.h>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "sluice/result.hpp"

namespace sluice::state::lmdb {

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

inline std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

/// Owns an LMDB transaction: aborted on scope exit unless committed.
class txn_guard {
public:
  explicit txn_guard(MDB_txn* t) : t_(t) {}
  ~txn_guard() {
    if (t_)
      mdb_txn_abort(t_);
  }
  txn_guard(const txn_guard&) = delete;
  txn_guard& operator=(const txn_guard&) = delete;
  /// Commits; the transaction is gone afterwards whatever the outcome.
  int commit() { return mdb_txn_commit(std::exchange(t_, nullptr)); }

private:
  MDB_txn* t_;
};

/// Owns an LMDB cursor.
class cursor {
public:
  cursor() = default;
  ~cursor() {
    if (c_)
      mdb_cursor_close(c_);
  }
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;
  int open(MDB_txn* t, MDB_dbi db) { return mdb_cursor_open(t, db, &c_); }
  int get(MDB_val& k, MDB_val& v, MDB_cursor_op op) { return mdb_cursor_get(c_, &k, &v, op); }
  int del() { return mdb_cursor_del(c_, 0); }

private:
  MDB_cursor* c_ = nullptr;
};

/// A write transaction, and whether it failed because the map is full.
struct write_txn {
  MDB_txn* txn = nullptr;
  bool map_full = false;
};

/// An open LMDB environment (a directory) with named databases. Any thread
/// may run transactions concurrently (MDB_NOTLS: a read transaction is not
/// bound to its thread, so CAF may move actors between workers). A process
/// must open one directory only once: its owner is opened through
/// `open_once`, which ensures that.
class env {
public:
  /// Opens `dir` (which exists) with an initial map of `map_size` bytes and
  /// creates the databases `dbs` if missing; `dbi(i)` is the i-th of them.
  /// `flags` are added to MDB_NOTLS (e.g. MDB_NOSYNC for a store that
  /// need not survive the process).
  static result<std::unique_ptr<env>> open(std::string dir, size_t map_size,
                                           std::initializer_list<const char*> dbs,
                                           unsigned flags = 0);
  ~env();
  env(const env&) = delete;
  env& operator=(const env&) = delete;

  MDB_dbi dbi(size_t i) const { return dbis_[i]; }

  /// An `io_error` naming the directory, the operation and LMDB's reason.
  error failure(std::string_view op, int rc) const;
  /// Same, in a write transaction: also notes MDB_MAP_FULL, so that `write`
  /// grows the map and retries.
  error fail(write_txn& w, std::string_view op, int rc) const {
    w.map_full = w.map_full || rc == MDB_MAP_FULL;
    return failure(op, rc);
  }

  /// Runs `f(MDB_txn*)` in a read-only transaction; `f` returns a result.
  template <class F>
  auto read(F&& f) -> decltype(f(std::declval<MDB_txn*>())) {
    for (;;) {
      {
        std::shared_lock lock{resize_};
        MDB_txn* t = nullptr;
        const int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
        if (rc == 0) {
          txn_guard guard{t};
          return f(t);
        }
        if (rc != MDB_MAP_RESIZED)
          return failure("mdb_txn_begin (read-only)", rc);
      }
      if (auto r = resize_map(0, 0); !r)
        return std::move(r).error();
    }
  }

  /// Runs `f(write_txn&)` in a write transaction and commits if it succeeds.
  /// If the map fills up, grows it (by at least twice `size_hint`, about the
  /// bytes `f` writes) and runs `f` again: `f` must not consume its captures.
  template <class F>
  auto write(F&& f, size_t size_hint = 0) -> decltype(f(std::declval<write_txn&>())) {
    constexpr int max_growths = 24;
    for (int attempt = 0;; ++attempt) {
      size_t seen = 0;
      {
        std::shared_lock lock{resize_};
        seen = map_size();
        write_txn w;
        const int rc = mdb_txn_begin(env_, nullptr, 0, &w.txn);
        if (rc == MDB_MAP_RESIZED) {
          seen = 0;
        } else if (rc != 0) {
          return failure("mdb_txn_begin", rc);
        } else {
          txn_guard guard{w.txn};
          auto r = f(w);
          if (r) {
            const int crc = guard.commit();
            if (crc == 0)
              return r;
            if (crc != MDB_MAP_FULL || attempt == max_growths)
              return failure("mdb_txn_commit", crc);
          } else if (!w.map_full || attempt == max_growths) {
            return r;
          }
        }
      }
      if (auto r = resize_map(seen, size_hint); !r)
        return std::move(r).error();
    }
  }

private:
  explicit env(std::string dir) : dir_(std::move(dir)) {}

  size_t map_size() const;
  /// Grows the map from `seen` to fit `need` more bytes, at least doubling
  /// it, unless another thread already did; `seen == 0` adopts the size
  /// another process set (MDB_MAP_RESIZED).
  result<void> resize_map(size_t seen, size_t need);

  std::string dir_;
  MDB_env* env_ = nullptr;
  std::vector<MDB_dbi> dbis_;
  /// Shared by every transaction; exclusive while the map is resized, which
  /// LMDB allows only with no transaction active in the process.
  std::shared_mutex resize_;
};

/// The canonical path of directory `dir`, the name under which the process
/// knows its environment; `create` creates it first (else a missing
/// directory is resolved lexically). Errors are `io_error`s naming `what`
/// (e.g. "line log") and `dir`.
result<std::string> canonical_directory(const std::string& dir, bool create, std::string_view what);

/// Directories with an open environment in this process, each with the one
/// object that owns it (a snapshot store, a line log, a table). LMDB must not
/// open one environment twice in a process (closing either copy would drop
/// the locks of the other), so `open_once` hands out the live owner and, if
/// the last owner is being destroyed right now, waits until its environment
/// is closed before opening it again. Leaked on purpose: owners may outlive
/// static destruction. Any thread may call it.
class registry {
public:
  /// The live owner of type `T` of canonical directory `dir`, or a new one
  /// made by `make() -> result<std::unique_ptr<T>>` (which opens the
  /// environment; it runs without the registry's lock, while the directory
  /// is reserved). The owner is unregistered after its destructor has run,
  /// so `T`'s destructor must close the environment. Fails with
  /// `invalid_argument` if `dir` is open as another kind of owner (`kind`
  /// names this one in the message), or with what `make` returns.
  template <class T, class Make>
  static result<std::shared_ptr<T>> open_once(const std::string& dir, std::string_view kind,
                                              Make&& make) {
    auto live = claim(dir, typeid(T), kind);
    if (!live)
      return std::move(live).error();
    if (*live)
      return std::static_pointer_cast<T>(std::move(live).value());
    reservation held{dir};
    result<std::unique_ptr<T>> made = std::forward<Make>(make)();
    if (!made)
      return std::move(made).error();
    auto deleter = [dir](T* t) {
      delete t;
      release(dir);
    };
    T* raw = made.value().release();
    held.dismiss();  // from here on the deleter releases `dir`, even if allocating fails
    std::shared_ptr<T> owner{raw, std::move(deleter)};
    publish(dir, owner);
    return owner;
  }

private:
  /// Waits until `dir` is neither being opened nor closed; then returns its
  /// live owner if it has one, else reserves `dir` for the caller (and
  /// returns null), who must `publish` or `release` it.
  static result<std::shared_ptr<void>> claim(const std::string& dir, const std::type_info& type,
                                             std::string_view kind);
  /// Makes `owner` the live owner of the reserved `dir`.
  static void publish(const std::string& dir, std::weak_ptr<void> owner);
  /// Forgets `dir` (reserved, or its owner destroyed) and wakes waiters.
  static void release(const std::string& dir);

  /// Releases a reserved directory on every exit but a successful open.
  class reservation {
  public:
    explicit reservation(const std::string& dir) : dir_(&dir) {}
    ~reservation() {
      if (dir_)
        release(*dir_);
    }
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;
    void dismiss() { dir_ = nullptr; }

  private:
    const std::string* dir_;
  };
};

}  // namespace sluice::state::lmdb
