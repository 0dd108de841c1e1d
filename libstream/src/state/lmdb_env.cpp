#include "lmdb_env.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

namespace sluice::state::lmdb {

result<std::unique_ptr<env>> env::open(std::string dir, size_t map_size,
                                       std::initializer_list<const char*> dbs) {
  std::unique_ptr<env> e{new env(std::move(dir))};
  if (int rc = mdb_env_create(&e->env_))
    return e->failure("mdb_env_create", rc);
  if (int rc = mdb_env_set_maxdbs(e->env_, static_cast<MDB_dbi>(dbs.size())))
    return e->failure("mdb_env_set_maxdbs", rc);
  if (int rc = mdb_env_set_mapsize(e->env_, map_size))
    return e->failure("mdb_env_set_mapsize", rc);
  if (int rc = mdb_env_open(e->env_, e->dir_.c_str(), MDB_NOTLS, 0644))
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

}  // namespace sluice::state::lmdb
