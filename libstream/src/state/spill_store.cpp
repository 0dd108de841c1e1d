#include "sluice/state/spill_store.hpp"

#include <fmt/format.h>

#include <atomic>
#include <filesystem>

#include "lmdb_env.hpp"

namespace sluice::state {

struct spill_store::impl {
  std::string dir;
  std::unique_ptr<lmdb::env> env;
  MDB_dbi db = 0;
  std::atomic<uint64_t> next{1};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> peak{0};
};

namespace {

/// Big-endian, so that keys sort in the order they were handed out.
std::string key_bytes(uint64_t k) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, k >>= 8)
    s[static_cast<size_t>(i)] = static_cast<char>(k & 0xff);
  return s;
}

}  // namespace

spill_store::spill_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
spill_store::~spill_store() = default;

result<std::shared_ptr<spill_store>> spill_store::open(std::string dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec)
    return error{errc::io_error,
                 fmt::format("spill store {}: cannot create the directory: {}", dir, ec.message())};
  auto e = lmdb::env::open(dir, size_t{64} << 20, {"batches"}, MDB_NOSYNC | MDB_NOMETASYNC);
  if (!e)
    return std::move(e).error();
  auto p = std::make_unique<impl>();
  p->dir = std::move(dir);
  p->env = std::move(e).value();
  p->db = p->env->dbi(0);
  return std::shared_ptr<spill_store>(new spill_store(std::move(p)));
}

uint64_t spill_store::next_key() noexcept {
  return impl_->next.fetch_add(1, std::memory_order_relaxed);
}

result<void> spill_store::put_many(const std::vector<std::pair<uint64_t, std::string>>& values) {
  size_t total = 0;
  for (auto& [k, v] : values)
    total += v.size() + 64;
  auto r = impl_->env->write(
      [&](lmdb::write_txn& w) -> result<void> {
        for (auto& [key, bytes] : values) {
          const std::string k = key_bytes(key);
          MDB_val kv = lmdb::to_val(k), vv = lmdb::to_val(bytes);
          if (int rc = mdb_put(w.txn, impl_->db, &kv, &vv, 0))
            return impl_->env->fail(w, "mdb_put (spilled batches)", rc);
        }
        return {};
      },
      total);
  if (!r)
    return r;
  uint64_t added = 0;
  for (auto& [k, v] : values)
    added += v.size();
  const uint64_t now = impl_->bytes.fetch_add(added) + added;
  uint64_t peak = impl_->peak.load(std::memory_order_relaxed);
  while (now > peak && !impl_->peak.compare_exchange_weak(peak, now)) {
  }
  return {};
}

result<void> spill_store::erase_many(const std::vector<uint64_t>& keys) {
  size_t freed = 0;
  auto r = impl_->env->write([&](lmdb::write_txn& w) -> result<void> {
    freed = 0;
    for (uint64_t key : keys) {
      const std::string k = key_bytes(key);
      MDB_val kv = lmdb::to_val(k), vv{};
      if (mdb_get(w.txn, impl_->db, &kv, &vv) != 0)
        continue;
      freed += vv.mv_size;
      if (int rc = mdb_del(w.txn, impl_->db, &kv, nullptr))
        return impl_->env->fail(w, "mdb_del (spilled batches)", rc);
    }
    return {};
  });
  if (r)
    impl_->bytes.fetch_sub(freed);
  return r;
}

result<std::string> spill_store::get(uint64_t key) {
  const std::string k = key_bytes(key);
  return impl_->env->read([&](MDB_txn* t) -> result<std::string> {
    MDB_val kv = lmdb::to_val(k), vv{};
    if (int rc = mdb_get(t, impl_->db, &kv, &vv))
      return impl_->env->failure(fmt::format("mdb_get (spilled batch {})", key), rc);
    return std::string{lmdb::from_val(vv)};
  });
}

uint64_t spill_store::bytes() const noexcept {
  return impl_->bytes.load(std::memory_order_relaxed);
}
uint64_t spill_store::peak_bytes() const noexcept {
  return impl_->peak.load(std::memory_order_relaxed);
}
const std::string& spill_store::dir() const noexcept {
  return impl_->dir;
}

}  // namespace sluice::state
