#include "snapshot_transfer.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "sluice/state/codec.hpp"

namespace sluice::net {

std::string encode_meta(const state::checkpoint_meta& m) {
  std::string out;
  state::writer w{out};
  state::encode(w, m.id.value);
  state::encode(w, m.savepoint);
  state::encode(w, m.completed_at_ms);
  state::encode(w, m.job_name);
  state::encode(w, m.operator_parallelism);
  return out;
}

state::checkpoint_meta decode_meta(std::string_view bytes) {
  state::checkpoint_meta m;
  state::reader r{bytes};
  uint64_t id = 0;
  state::decode(r, id);
  m.id = checkpoint_id{id};
  state::decode(r, m.savepoint);
  state::decode(r, m.completed_at_ms);
  state::decode(r, m.job_name);
  state::decode(r, m.operator_parallelism);
  return m;
}

std::vector<snapshot_entry_msg> read_for_transfer(state::snapshot_store& store,
                                                  uint64_t checkpoint) {
  std::vector<snapshot_entry_msg> out;
  auto all = store.completed();
  if (!all)
    throw std::runtime_error(all.error().message);
  const state::checkpoint_meta* meta = nullptr;
  for (auto& m : all.value())
    if (m.id.value == checkpoint)
      meta = &m;
  if (!meta)
    throw std::runtime_error(fmt::format("checkpoint {} is not completed here", checkpoint));
  for (auto& [uid, par] : meta->operator_parallelism) {
    auto es = store.read(checkpoint_id{checkpoint}, uid);
    if (!es)
      throw std::runtime_error(es.error().message);
    for (auto& [key, bytes] : es.value())
      out.push_back(snapshot_entry_msg{key.operator_uid, key.instance.value, key.group.value,
                                       key.is_operator_state(), std::move(bytes)});
  }
  out.push_back(snapshot_entry_msg{meta_entry_uid, 0, 0, true, encode_meta(*meta)});
  return out;
}

void store_pushed(state::snapshot_store& store, const std::string& peer, uint64_t checkpoint,
                  std::vector<snapshot_entry_msg>&& entries, uint32_t retained) {
  std::vector<state::snapshot_store::entry> es;
  std::optional<state::checkpoint_meta> meta;
  for (auto& e : entries) {
    if (e.operator_uid == meta_entry_uid) {
      meta = decode_meta(e.value);
      continue;
    }
    state::snapshot_key key;
    key.operator_uid = std::move(e.operator_uid);
    key.instance = instance_index{e.instance};
    key.group = e.operator_state ? state::snapshot_key::operator_state : key_group{e.key_group};
    es.emplace_back(std::move(key), std::move(e.value));
  }
  if (meta) {
    // A checkpoint pushed before a deployment: complete it here unless it
    // already is. A completed checkpoint of the same id with other metadata
    // is left from another run of the job (another coordinator store): it is
    // replaced, never restored from.
    auto all = store.completed();
    if (!all)
      throw std::runtime_error(all.error().message);
    for (auto& m : all.value())
      if (m.id == meta->id) {
        if (m == *meta)
          return;
        spdlog::warn("replacing checkpoint {} of another run in {}", m.id.value, store.dir());
        if (auto r = store.drop(m.id); !r)
          throw std::runtime_error(r.error().message);
      }
  }
  if (auto r = store.write(checkpoint_id{checkpoint}, es); !r)
    throw std::runtime_error(
        fmt::format("storing checkpoint {} from node {}: {}", checkpoint, peer, r.error().message));
  if (meta) {
    if (auto r = store.commit(*meta); !r)
      throw std::runtime_error(r.error().message);
    // This node's store only serves restores: keep it as small as the
    // coordinator's (drops older checkpoints and unfinished ones).
    if (auto r = store.retain(std::max(1u, retained)); !r)
      spdlog::warn("cannot drop old checkpoints: {}", r.error().message);
  }
}

std::vector<snapshot_entry_msg> to_messages(
    const std::vector<state::snapshot_store::entry>& entries) {
  std::vector<snapshot_entry_msg> msgs;
  msgs.reserve(entries.size());
  for (auto& [key, bytes] : entries)
    msgs.push_back(snapshot_entry_msg{key.operator_uid, key.instance.value, key.group.value,
                                      key.is_operator_state(), bytes});
  return msgs;
}

}  // namespace sluice::net
