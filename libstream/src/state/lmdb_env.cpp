#include "lmdb_env.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>

namespace sluice::state::lmdb {

result<std::unique_ptr<env>> env::open(std::string dir, size_t map_size,
                                       std::initializer_list<const char*> dbs, unsigned flags) {
  std::unique_ptr<env> e{new env(std::move(dir))};
  if (int rc = mdb_env_create(&e->env_))
    return e->failure("mdb_env_create", rc);
  if (int rc = mdb_env_set_maxdbs(e->env_, static_cast<MDB_dbi>(dbs.size())))
    return e->failure("mdb_env_set_maxdbs", rc);
  if (int rc = mdb_env_set_mapsize(e->env_, map_size))
    return e->failure("mdb_env_set_mapsize", rc);
  if (int rc = mdb_env_open(e->env_, e->dir_.c_str(), MDB_NOTLS | flags, 0644))
    return e->failure("mdb_env_open", rc);
  int dead = 0;
  if (int rc = mdb_reader_check(e->env_, &dead))  // reader slots of crashed processes
    return e->failure("mdb_reader_check", rc);
  e->dbis_.resize(dbs.size());
  auto opened = e->write([&](write_txn& w) -> result<void> {
    size_t i = 0;
    for (const char* name : dbs)
      if (int rc = mdb_dbi_open(w.txn, name, MDB_CREATE, &e->dbis_[i++]))
        return e->fail(w, fmt::format("mdb_dbi_open ({})", name), rc);
    return {};
  });
  if (!opened)
    return std::move(opened).error();
  return e;
}

env::~env() {
  if (env_)
    mdb_env_close(env_);  // also required after a failed mdb_env_open
}

error env::failure(std::string_view op, int rc) const {
  return error{errc::io_error,
               fmt::format("LMDB environment {}: {}: {}", dir_, op, mdb_strerror(rc))};
}

size_t env::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

result<void> env::resize_map(size_t seen, size_t need) {
  std::unique_lock lock{resize_};
  if (seen != 0 && map_size() != seen)
    return {};
  const size_t grown = seen == 0 ? 0 : std::max(seen * 2, seen + need * 2);
  if (int rc = mdb_env_set_mapsize(env_, grown))
    return failure("mdb_env_set_mapsize", rc);
  return {};
}

result<std::string> canonical_directory(const std::string& dir, bool create,
                                        std::string_view what) {
  std::error_code ec;
  if (create) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return error{errc::io_error,
                   fmt::format("{} {}: cannot create directory: {}", what, dir, ec.message())};
  }
  auto c =
      create ? std::filesystem::canonical(dir, ec) : std::filesystem::weakly_canonical(dir, ec);
  if (ec)
    return error{errc::io_error,
                 fmt::format("{} {}: cannot resolve directory: {}", what, dir, ec.message())};
  return c.string();
}

namespace {

/// One directory of the registry.
struct slot {
  const std::type_info* type = nullptr;
  std::string kind;
  /// Expired while the owner's destructor runs.
  std::weak_ptr<void> owner;
  /// Reserved by an `open_once` that is opening the environment.
  bool opening = true;
};

struct directories {
  std::mutex mtx;
  std::condition_variable changed;
  std::map<std::string, slot, std::less<>> open;
};

directories& the_directories() {
  static auto* d = new directories;  // leaked on purpose (see registry)
  return *d;
}

}  // namespace

result<std::shared_ptr<void>> registry::claim(const std::string& dir, const std::type_info& type,
                                              std::string_view kind) {
  auto& d = the_directories();
  std::unique_lock lock{d.mtx};
  for (;;) {
    auto it = d.open.find(dir);
    if (it == d.open.end()) {
      d.open.emplace(dir, slot{&type, std::string{kind}, {}, true});
      return std::shared_ptr<void>{};
    }
    slot& s = it->second;
    // expired(), not lock(): a temporary owner dropped under the lock could
    // be the last one, and its deleter takes the lock.
    if (!s.opening && !s.owner.expired()) {
      if (*s.type != type)
        return error{errc::invalid_argument,
                     fmt::format("{} {}: the directory is already open in this process as a {}",
                                 kind, dir, s.kind)};
      if (auto live = s.owner.lock())
        return live;  // returned to the caller, who releases it without the lock
    }
    d.changed.wait(lock);  // being opened, or its owner's destructor is running
  }
}

void registry::publish(const std::string& dir, std::weak_ptr<void> owner) {
  auto& d = the_directories();
  std::lock_guard lock{d.mtx};
  auto& s = d.open.at(dir);
  s.owner = std::move(owner);
  s.opening = false;
  d.changed.notify_all();
}

void registry::release(const std::string& dir) {
  auto& d = the_directories();
  std::lock_guard lock{d.mtx};
  d.open.erase(dir);
  d.changed.notify_all();
}

}  // namespace sluice::state::lmdb
