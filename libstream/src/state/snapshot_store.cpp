#include "sluice/state/snapshot_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "lmdb_env.hpp"
#include "snapshot_format.hpp"

namespace sluice::state {

using lmdb::cursor;
using lmdb::from_val;
using lmdb::to_val;
using lmdb::write_txn;

struct snapshot_store::impl {
  std::string dir;
  std::unique_ptr<lmdb::env> env;
  MDB_dbi data = 0;  ///< snapshot entries
  MDB_dbi meta = 0;  ///< metadata of completed checkpoints
  MDB_dbi kv = 0;    ///< put_meta records

  /// Reads and verifies the metadata value stored under `key` (a meta key).
  result<checkpoint_meta> decode_meta(checkpoint_id id, std::string_view key,
                                      std::string_view value) const {
    auto payload = format::read_frame(key, value);
    if (!payload)
      return error{payload.error().code,
                   fmt::format("checkpoint {} metadata: {}", id.value, payload.error().message)};
    auto m = format::decode_meta(*payload);
    if (!m)
      return error{m.error().code,
                   fmt::format("checkpoint {} metadata: {}", id.value, m.error().message)};
    if (m->id != id)
      return error{errc::corrupt_snapshot, fmt::format("checkpoint {} metadata names checkpoint {}",
                                                       id.value, m->id.value)};
    return m;
  }

  /// Verifies one data entry; `key` is its LMDB key.
  result<entry> decode_entry(checkpoint_id id, std::string_view key, std::string_view value) const {
    auto parsed = format::parse_data_key(key);
    if (!parsed || parsed->first != id)
      return error{errc::corrupt_snapshot,
                   fmt::format("checkpoint {}: malformed key of {} bytes", id.value, key.size())};
    auto payload = format::read_frame(key, value);
    if (!payload)
      return error{payload.error().code,
                   fmt::format("checkpoint {}, {}: {}", id.value, format::describe(parsed->second),
                               payload.error().message)};
    return entry{std::move(parsed->second), std::string{*payload}};
  }

  /// Verifies all of completed checkpoint `id` inside transaction `t`.
  result<checkpoint_meta> verify_in(MDB_txn* t, checkpoint_id id) const {
    const std::string mkey = format::meta_key(id);
    MDB_val k = to_val(mkey), v{};
    int rc = mdb_get(t, meta, &k, &v);
    if (rc == MDB_NOTFOUND)
      return error{errc::not_found, fmt::format("checkpoint {} is not completed", id.value)};
    if (rc != 0)
      return env->failure("mdb_get (checkpoint metadata)", rc);
    auto m = decode_meta(id, mkey, from_val(v));
    if (!m)
      return m;
    std::map<std::string, uint32_t, std::less<>> parallelism(m->operator_parallelism.begin(),
                                                             m->operator_parallelism.end());
    const std::string prefix = format::checkpoint_prefix(id);
    cursor c;
    if ((rc = c.open(t, data)) != 0)
      return env->failure("mdb_cursor_open", rc);
    k = to_val(prefix);
    for (rc = c.get(k, v, MDB_SET_RANGE); rc == 0 && from_val(k).starts_with(prefix);
         rc = c.get(k, v, MDB_NEXT)) {
      auto e = decode_entry(id, from_val(k), from_val(v));
      if (!e)
        return std::move(e).error();
      const auto& key = e->first;
      if (auto it = parallelism.find(key.operator_uid);
          it != parallelism.end() && key.instance.value >= it->second)
        return error{errc::corrupt_snapshot,
                     fmt::format("checkpoint {}, {}: instance out of range, the operator had "
                                 "parallelism {}",
                                 id.value, format::describe(key), it->second)};
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
      return env->failure("mdb_cursor_get (checkpoint entries)", rc);
    return m;
  }

  /// Deletes checkpoint `id` inside `w`; returns whether anything existed.
  result<bool> drop_in(write_txn& w, checkpoint_id id) const {
    const std::string mkey = format::meta_key(id);
    MDB_val k = to_val(mkey), v{};
    int rc = mdb_del(w.txn, meta, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return env->fail(w, "mdb_del (checkpoint metadata)", rc);
    bool found = rc == 0;
    const std::string prefix = format::checkpoint_prefix(id);
    cursor c;
    if ((rc = c.open(w.txn, data)) != 0)
      return env->fail(w, "mdb_cursor_open", rc);
    k = to_val(prefix);
    for (rc = c.get(k, v, MDB_SET_RANGE); rc == 0 && from_val(k).starts_with(prefix);
         rc = c.get(k, v, MDB_NEXT)) {
      if ((rc = c.del()) != 0)
        return env->fail(w, "mdb_cursor_del (checkpoint entries)", rc);
      found = true;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
      return env->fail(w, "mdb_cursor_get (checkpoint entries)", rc);
    return found;
  }

  /// The distinct checkpoint ids that have entries, ascending.
  result<std::vector<checkpoint_id>> data_ids(MDB_txn* t) const {
    std::vector<checkpoint_id> ids;
    cursor c;
    if (int rc = c.open(t, data))
      return env->failure("mdb_cursor_open", rc);
    MDB_val k{}, v{};
    int rc = c.get(k, v, MDB_FIRST);
    while (rc == 0) {
      const auto id = format::parse_checkpoint_prefix(from_val(k));
      if (!id)
        return error{errc::corrupt_snapshot, "snapshot entry with a key shorter than 8 bytes"};
      ids.push_back(*id);
      if (id->value == UINT64_MAX)
        break;
      const std::string next = format::checkpoint_prefix(checkpoint_id{id->value + 1});
      k = to_val(next);
      rc = c.get(k, v, MDB_SET_RANGE);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
      return env->failure("mdb_cursor_get (checkpoint ids)", rc);
    return ids;
  }

  /// Every meta record: id and the decoded metadata or why it failed.
  result<std::vector<std::pair<checkpoint_id, result<checkpoint_meta>>>> metas(MDB_txn* t) const {
    std::vector<std::pair<checkpoint_id, result<checkpoint_meta>>> out;
    cursor c;
    if (int rc = c.open(t, meta))
      return env->failure("mdb_cursor_open", rc);
    MDB_val k{}, v{};
    int rc = 0;
    for (rc = c.get(k, v, MDB_FIRST); rc == 0; rc = c.get(k, v, MDB_NEXT)) {
      // A key of another length cannot name a checkpoint; it is not ours.
      if (k.mv_size != 8)
        continue;
      const auto id = *format::parse_checkpoint_prefix(from_val(k));
      out.emplace_back(id, decode_meta(id, from_val(k), from_val(v)));
    }
    if (rc != MDB_NOTFOUND)
      return env->failure("mdb_cursor_get (checkpoint metadata)", rc);
    return out;
  }
};

snapshot_store::snapshot_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

snapshot_store::~snapshot_store() = default;

result<std::shared_ptr<snapshot_store>> snapshot_store::open(std::string dir, size_t map_size) {
  if (map_size == 0)
    return error{errc::invalid_argument, "snapshot store: map size must be positive"};
  auto canonical = lmdb::canonical_directory(dir, true, "snapshot store");
  if (!canonical)
    return std::move(canonical).error();
  return lmdb::registry::open_once<snapshot_store>(
      *canonical, "snapshot store", [&]() -> result<std::unique_ptr<snapshot_store>> {
        auto e = lmdb::env::open(*canonical, map_size, {"data", "meta", "kv"});
        if (!e)
          return std::move(e).error();
        auto p = std::make_unique<impl>();
        p->dir = std::move(dir);
        p->env = std::move(e).value();
        p->data = p->env->dbi(0);
        p->meta = p->env->dbi(1);
        p->kv = p->env->dbi(2);
        return std::unique_ptr<snapshot_store>{new snapshot_store(std::move(p))};
      });
}

const std::string& snapshot_store::dir() const noexcept {
  return impl_->dir;
}

result<void> snapshot_store::write(checkpoint_id id, const std::vector<entry>& entries) {
  std::vector<std::pair<std::string, const std::string*>> framed;
  framed.reserve(entries.size());
  size_t bytes = 0;
  for (const auto& [key, payload] : entries) {
    if (key.operator_uid.size() > max_uid_size || key.operator_uid.find('\0') != std::string::npos)
      return error{errc::invalid_argument,
                   fmt::format("checkpoint {}: operator uid of {} bytes is longer than {} or "
                               "contains a NUL byte",
                               id.value, key.operator_uid.size(), max_uid_size)};
    framed.emplace_back(format::data_key(id, key), &payload);
    // B-tree node overhead per entry: header, key size, alignment.
    bytes += framed.back().first.size() + format::frame_size(payload.size()) + 16;
  }
  // Inserting in key order fills B-tree pages sequentially. Stable, so that
  // of two entries with one key the later wins, as it would unsorted.
  std::stable_sort(framed.begin(), framed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const std::string mkey = format::meta_key(id);
  return impl_->env->write(
      [&](write_txn& w) -> result<void> {
        MDB_val k = to_val(mkey), v{};
        int rc = mdb_get(w.txn, impl_->meta, &k, &v);
        if (rc == 0)
          return error{errc::invalid_argument,
                       fmt::format("checkpoint {} is already completed; its entries cannot change",
                                   id.value)};
        if (rc != MDB_NOTFOUND)
          return impl_->env->fail(w, "mdb_get (checkpoint metadata)", rc);
        for (const auto& [key, payload] : framed) {
          k = to_val(key);
          v = MDB_val{format::frame_size(payload->size()), nullptr};
          if ((rc = mdb_put(w.txn, impl_->data, &k, &v, MDB_RESERVE)) != 0)
            return impl_->env->fail(w, "mdb_put (snapshot entry)", rc);
          format::write_frame(static_cast<char*>(v.mv_data), key, *payload);
        }
        return {};
      },
      bytes);
}

result<void> snapshot_store::commit(const checkpoint_meta& meta) {
  const std::string mkey = format::meta_key(meta.id);
  const std::string payload = format::encode_meta(meta);
  return impl_->env->write(
      [&](write_txn& w) -> result<void> {
        MDB_val k = to_val(mkey);
        MDB_val v{format::frame_size(payload.size()), nullptr};
        const int rc = mdb_put(w.txn, impl_->meta, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
          return error{errc::invalid_argument,
                       fmt::format("checkpoint {} is already completed", meta.id.value)};
        if (rc != 0)
          return impl_->env->fail(w, "mdb_put (checkpoint metadata)", rc);
        format::write_frame(static_cast<char*>(v.mv_data), mkey, payload);
        return {};
      },
      mkey.size() + format::frame_size(payload.size()));
}

result<std::vector<checkpoint_meta>> snapshot_store::completed() {
  return impl_->env->read([&](MDB_txn* t) -> result<std::vector<checkpoint_meta>> {
    auto all = impl_->metas(t);
    if (!all)
      return std::move(all).error();
    std::vector<checkpoint_meta> out;
    for (auto& [id, m] : *all)
      if (m)
        out.push_back(std::move(m).value());
    return out;
  });
}

result<std::optional<checkpoint_meta>> snapshot_store::latest_completed() {
  auto all = completed();
  if (!all)
    return std::move(all).error();
  if (all->empty())
    return std::nullopt;
  return std::move(all->back());
}

result<std::vector<snapshot_store::entry>> snapshot_store::read(checkpoint_id id,
                                                                std::string_view operator_uid) {
  if (operator_uid.find('\0') != std::string_view::npos)
    return error{errc::invalid_argument,
                 fmt::format("checkpoint {}: operator uid contains a NUL byte", id.value)};
  const std::string prefix = format::operator_prefix(id, operator_uid);
  return impl_->env->read([&](MDB_txn* t) -> result<std::vector<entry>> {
    std::vector<entry> out;
    cursor c;
    if (int rc = c.open(t, impl_->data))
      return impl_->env->failure("mdb_cursor_open", rc);
    MDB_val k = to_val(prefix), v{};
    int rc = 0;
    for (rc = c.get(k, v, MDB_SET_RANGE); rc == 0 && from_val(k).starts_with(prefix);
         rc = c.get(k, v, MDB_NEXT)) {
      auto e = impl_->decode_entry(id, from_val(k), from_val(v));
      if (!e)
        return std::move(e).error();
      out.push_back(std::move(e).value());
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
      return impl_->env->failure("mdb_cursor_get (snapshot entries)", rc);
    return out;
  });
}

result<void> snapshot_store::verify(checkpoint_id id) {
  return impl_->env->read([&](MDB_txn* t) -> result<void> {
    auto m = impl_->verify_in(t, id);
    if (!m)
      return std::move(m).error();
    return {};
  });
}

result<recovery_point> snapshot_store::latest_valid() {
  // One read transaction: a consistent view even while checkpoints complete.
  return impl_->env->read([&](MDB_txn* t) -> result<recovery_point> {
    auto all = impl_->metas(t);
    if (!all)
      return std::move(all).error();
    recovery_point out;
    for (auto it = all->rbegin(); it != all->rend(); ++it) {
      auto m = impl_->verify_in(t, it->first);
      if (m) {
        out.checkpoint = std::move(m).value();
        break;
      }
      if (m.error().code == errc::io_error)
        return std::move(m).error();
      out.skipped.push_back(skipped_checkpoint{it->first, std::move(m).error()});
    }
    return out;
  });
}

result<void> snapshot_store::drop(checkpoint_id id) {
  return impl_->env->write([&](write_txn& w) -> result<void> {
    auto found = impl_->drop_in(w, id);
    if (!found)
      return std::move(found).error();
    if (!*found)
      return error{errc::not_found, fmt::format("checkpoint {} is not stored", id.value)};
    return {};
  });
}

result<void> snapshot_store::retain(size_t keep) {
  if (keep == 0)
    return error{errc::invalid_argument,
                 "retain(0) would drop every checkpoint recovery could use; keep at least 1"};
  return impl_->env->write([&](write_txn& w) -> result<void> {
    auto all = impl_->metas(w.txn);
    if (!all)
      return std::move(all).error();
    auto in_data = impl_->data_ids(w.txn);
    if (!in_data)
      return std::move(in_data).error();
    std::vector<checkpoint_id> to_drop;
    // Newest first: the first `keep` valid non-savepoints stay, and so does
    // everything newer than the oldest of them.
    size_t kept = 0;
    for (auto it = all->rbegin(); it != all->rend(); ++it) {
      const auto& [id, m] = *it;
      if (m && m->savepoint)
        continue;
      if (kept < keep) {
        kept += m ? 1 : 0;
        continue;
      }
      to_drop.push_back(id);
    }
    // Never-completed checkpoints older than the newest completed one were
    // abandoned (a failure, or a newer checkpoint overtook them).
    std::vector<checkpoint_id> completed_ids;
    for (const auto& m : *all)
      completed_ids.push_back(m.first);
    for (checkpoint_id id : *in_data)
      if (!completed_ids.empty() && id < completed_ids.back() &&
          !std::binary_search(completed_ids.begin(), completed_ids.end(), id))
        to_drop.push_back(id);
    for (checkpoint_id id : to_drop)
      if (auto r = impl_->drop_in(w, id); !r)
        return std::move(r).error();
    return {};
  });
}

result<void> snapshot_store::put_meta(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > max_meta_key_size)
    return error{errc::invalid_argument,
                 fmt::format("meta key of {} bytes, must be 1..{}", key.size(), max_meta_key_size)};
  return impl_->env->write(
      [&](write_txn& w) -> result<void> {
        MDB_val k = to_val(key);
        MDB_val v{format::frame_size(value.size()), nullptr};
        if (int rc = mdb_put(w.txn, impl_->kv, &k, &v, MDB_RESERVE))
          return impl_->env->fail(w, "mdb_put (meta record)", rc);
        format::write_frame(static_cast<char*>(v.mv_data), key, value);
        return {};
      },
      key.size() + format::frame_size(value.size()));
}

result<std::optional<std::string>> snapshot_store::get_meta(std::string_view key) {
  if (key.empty() || key.size() > max_meta_key_size)
    return error{errc::invalid_argument,
                 fmt::format("meta key of {} bytes, must be 1..{}", key.size(), max_meta_key_size)};
  return impl_->env->read([&](MDB_txn* t) -> result<std::optional<std::string>> {
    MDB_val k = to_val(key), v{};
    const int rc = mdb_get(t, impl_->kv, &k, &v);
    if (rc == MDB_NOTFOUND)
      return std::nullopt;
    if (rc != 0)
      return impl_->env->failure("mdb_get (meta record)", rc);
    auto payload = format::read_frame(key, from_val(v));
    if (!payload)
      return error{payload.error().code,
                   fmt::format("meta record \"{}\": {}", key, payload.error().message)};
    return std::optional<std::string>{std::string{*payload}};
  });
}

result<void> snapshot_store::erase_meta(std::string_view key) {
  if (key.empty() || key.size() > max_meta_key_size)
    return error{errc::invalid_argument,
                 fmt::format("meta key of {} bytes, must be 1..{}", key.size(), max_meta_key_size)};
  return impl_->env->write([&](write_txn& w) -> result<void> {
    MDB_val k = to_val(key);
    const int rc = mdb_del(w.txn, impl_->kv, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return impl_->env->fail(w, "mdb_del (meta record)", rc);
    return {};
  });
}

}  // namespace sluice::state
