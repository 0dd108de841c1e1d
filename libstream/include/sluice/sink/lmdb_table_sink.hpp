#pragma once

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sluice/sink/sinks.hpp"
#include "sluice/state/codec.hpp"
#include "sluice/state/lmdb_table.hpp"

namespace sluice {

/// Exactly-once upserts into an LMDB key -> value table (a directory).
///
/// Each record becomes a write `key(record) -> value(record)`, both encoded
/// with the state codec. Writes made between two checkpoints are staged; at
/// checkpoint n they become part of the sink's snapshot, and when n completes
/// they are applied in one LMDB transaction that also records n as this
/// instance's last applied checkpoint. On restore, staged writes of
/// checkpoints up to the restored one that the table has not recorded yet
/// are applied (the crash may have come between completion and commit), so
/// every write lands exactly once. Without checkpoints everything is applied
/// at close. Keyed by instance: restore with the same parallelism.
template <class T, class KeyFn, class ValueFn>
class lmdb_table_sink final : public typed_sink<T> {
public:
  lmdb_table_sink(std::string dir, KeyFn key, ValueFn value)
      : dir_(std::move(dir)), key_(std::move(key)), value_(std::move(value)) {}

  void open(operator_context& ctx) override {
    typed_sink<T>::open(ctx);
    auto t = state::lmdb_table::open(dir_);
    if (!t)
      throw std::runtime_error(fmt::format("cannot open table '{}': {}", dir_, t.error().message));
    table_ = t.value();
  }

  void snapshot(state::snapshot_writer& w) override {
    if (!current_.empty())
      staged_[w.checkpoint()] = std::move(current_);
    current_.clear();
    auto out = w.operator_state();
    state::encode(out, staged_);
  }

  void restore(const state::snapshot_reader& in) override {
    if (!in.operator_state())
      return;
    state::reader r{*in.operator_state()};
    state::decode(r, staged_);
    publish(this->context().restored_checkpoint());
  }

  void notify_checkpoint_complete(uint64_t id) override { publish(id); }

  void close() override {
    if (!this->context().checkpointing() && !current_.empty()) {
      apply(current_, 0);
      current_.clear();
    }
  }

protected:
  void consume(record<T>&& r) override {
    current_.emplace_back(state::to_bytes(std::invoke(key_, std::as_const(r.value))),
                          state::to_bytes(std::invoke(value_, std::as_const(r.value))));
  }

private:
  /// Applies, in one transaction, the staged writes of checkpoints up to
  /// `id` that the table has not applied for this instance yet.
  void publish(uint64_t id) {
    auto done = table_->committed(this->context().instance());
    if (!done)
      throw std::runtime_error(fmt::format("table '{}': {}", dir_, done.error().message));
    std::vector<state::lmdb_table::write> writes;
    uint64_t last = 0;
    for (auto it = staged_.begin(); it != staged_.end() && it->first <= id;) {
      if (it->first > done.value())
        for (auto& w : it->second)
          writes.push_back(std::move(w));
      last = it->first;
      it = staged_.erase(it);
    }
    if (last > done.value())
      apply(writes, last);
  }

  void apply(const std::vector<state::lmdb_table::write>& writes, uint64_t checkpoint) {
    if (auto r = table_->apply(writes, this->context().instance(), checkpoint); !r)
      throw std::runtime_error(fmt::format("cannot write table '{}': {}", dir_, r.error().message));
  }

  std::string dir_;
  KeyFn key_;
  ValueFn value_;
  std::shared_ptr<state::lmdb_table> table_;
  std::vector<state::lmdb_table::write> current_;
  std::map<uint64_t, std::vector<state::lmdb_table::write>> staged_;
};

}  // namespace sluice
