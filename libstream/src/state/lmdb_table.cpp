#include "sluice/state/lmdb_table.hpp"

#include "lmdb_env.hpp"

namespace sluice::state {

struct lmdb_table::impl {
  std::unique_ptr<lmdb::env> env;
};

namespace {

/// Bookkeeping lives in its own database ("meta"), apart from user keys.
std::string committed_key(uint32_t writer) {
  return "committed/" + std::to_string(writer);
}

}  // namespace

lmdb_table::lmdb_table(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
lmdb_table::~lmdb_table() = default;

result<std::shared_ptr<lmdb_table>> lmdb_table::open(std::string dir) {
  auto canonical = lmdb::canonical_directory(dir, true, "LMDB table");
  if (!canonical)
    return std::move(canonical).error();
  return lmdb::registry::open_once<lmdb_table>(
      *canonical, "LMDB table", [&]() -> result<std::unique_ptr<lmdb_table>> {
        auto e = lmdb::env::open(*canonical, size_t{64} << 20, {"table", "meta"});
        if (!e)
          return std::move(e).error();
        auto p = std::make_unique<impl>();
        p->env = std::move(e).value();
        return std::make_unique<lmdb_table>(std::move(p));
      });
}

result<void> lmdb_table::apply(const std::vector<write>& writes, uint32_t writer,
                               uint64_t checkpoint) {
  auto& env = *impl_->env;
  size_t bytes = 0;
  for (auto& [k, v] : writes)
    bytes += k.size() + v.size() + 64;
  return env.write(
      [&](lmdb::write_txn& w) -> result<void> {
        for (auto& [k, v] : writes) {
          MDB_val kk = lmdb::to_val(k), vv = lmdb::to_val(v);
          if (int rc = mdb_put(w.txn, env.dbi(0), &kk, &vv, 0); rc != 0)
            return env.fail(w, "mdb_put", rc);
        }
        const std::string ck = committed_key(writer);
        const std::string cv = std::to_string(checkpoint);
        MDB_val kk = lmdb::to_val(ck), vv = lmdb::to_val(cv);
        if (int rc = mdb_put(w.txn, env.dbi(1), &kk, &vv, 0); rc != 0)
          return env.fail(w, "mdb_put", rc);
        return {};
      },
      bytes);
}

result<uint64_t> lmdb_table::committed(uint32_t writer) {
  auto& env = *impl_->env;
  return env.read([&](MDB_txn* t) -> result<uint64_t> {
    const std::string ck = committed_key(writer);
    MDB_val kk = lmdb::to_val(ck), vv;
    const int rc = mdb_get(t, env.dbi(1), &kk, &vv);
    if (rc == MDB_NOTFOUND)
      return uint64_t{0};
    if (rc != 0)
      return env.failure("mdb_get", rc);
    return static_cast<uint64_t>(std::stoull(std::string{lmdb::from_val(vv)}));
  });
}

result<std::optional<std::string>> lmdb_table::get(std::string_view key) {
  auto& env = *impl_->env;
  return env.read([&](MDB_txn* t) -> result<std::optional<std::string>> {
    MDB_val kk = lmdb::to_val(key), vv;
    const int rc = mdb_get(t, env.dbi(0), &kk, &vv);
    if (rc == MDB_NOTFOUND)
      return std::optional<std::string>{};
    if (rc != 0)
      return env.failure("mdb_get", rc);
    return std::optional<std::string>{std::string{lmdb::from_val(vv)}};
  });
}

result<std::vector<lmdb_table::write>> lmdb_table::scan() {
  auto& env = *impl_->env;
  return env.read([&](MDB_txn* t) -> result<std::vector<write>> {
    std::vector<write> out;
    lmdb::cursor c;
    if (int rc = c.open(t, env.dbi(0)); rc != 0)
      return env.failure("mdb_cursor_open", rc);
    MDB_val k, v;
    for (int rc = c.get(k, v, MDB_FIRST); rc == 0; rc = c.get(k, v, MDB_NEXT)) {
      out.emplace_back(std::string{lmdb::from_val(k)}, std::string{lmdb::from_val(v)});
    }
    return out;
  });
}

}  // namespace sluice::state
