#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "sluice/operator.hpp"
#include "sluice/source/splits.hpp"
#include "sluice/source/watermarks.hpp"

namespace sluice {

/// Base of sources producing `T`: owns the output port, stamps records
/// according to the watermark strategy and tracks the watermark. Derived
/// sources implement `poll` and call `emit`.
template <class T>
class typed_source : public source_base {
public:
  using value_type = T;

  void set_watermarks(watermark_strategy<T> s) { strategy_ = std::move(s); }

  timestamp watermark() const noexcept override {
    if (!strategy_.timestamp_of || max_ts_ == timestamp::min())
      return timestamp::min();
    return max_ts_ - strategy_.out_of_orderness - duration{1};
  }

  std::optional<duration> idle_timeout() const noexcept override { return strategy_.idleness; }

  size_t num_ports() const noexcept override { return 1; }
  output_port_base& out(size_t) override { return out_; }

  /// Sources keep their read position (and event-time progress) as operator
  /// state: derived sources write their position in `snapshot_position`.
  /// Rescalable sources (`splittable()`) keep one position per split
  /// instead, under the split's key group, so that they can be restored with
  /// another parallelism (see split_range).
  void snapshot(state::snapshot_writer& w) override {
    if (splittable()) {
      const auto r = splits();
      for (uint32_t s = r.begin; s < r.end; ++s) {
        state::writer out{w.keyed_bytes()[s]};
        state::encode(out, s);
        state::encode(out, max_ts_);
        snapshot_split(s, out);
      }
      return;
    }
    auto out = w.operator_state();
    state::encode(out, max_ts_);
    snapshot_position(out);
  }

  void restore(const state::snapshot_reader& in) override {
    if (splittable()) {
      // Event time resumes from the least advanced split: records of a split
      // that lagged behind must not turn late because another instance had
      // read further.
      std::optional<timestamp> low;
      const auto r = splits();
      in.for_each_keyed([&](state::reader& rd) {
        const auto s = rd.number<uint32_t>();
        timestamp ts;
        state::decode(rd, ts);
        if (!r.owns(s))
          throw std::runtime_error("source '" + this->context().name() + "' instance " +
                                   std::to_string(this->context().instance()) + " got split " +
                                   std::to_string(s) + " it does not own from the checkpoint");
        restore_split(s, rd);
        if (!low || ts < *low)
          low = ts;
      });
      if (low)
        max_ts_ = *low;
      splits_restored();
      return;
    }
    if (!in.operator_state())
      throw std::runtime_error(
          "source '" + this->context().name() + "' instance " +
          std::to_string(this->context().instance()) +
          " has no saved read position in the checkpoint (was its parallelism changed?)");
    state::reader r{*in.operator_state()};
    state::decode(r, max_ts_);
    restore_position(r);
  }

protected:
  /// Rescalable sources return true and implement the three split hooks
  /// below instead of `snapshot_position` / `restore_position`.
  virtual bool splittable() const noexcept { return false; }
  virtual void snapshot_split(uint32_t /*split*/, state::writer&) {}
  virtual void restore_split(uint32_t /*split*/, state::reader&) {}
  /// Called after the last `restore_split` of a restore.
  virtual void splits_restored() {}

  /// The splits this instance owns (max parallelism splits over the instances).
  split_range splits() {
    auto& c = this->context();
    return split_range::of(c.instance(), c.parallelism(), c.max_parallelism());
  }

  /// Replayable sources override both; the default refuses checkpoints with
  /// a clear error rather than silently replaying from the start.
  virtual void snapshot_position(state::writer&) {
    throw state::not_serializable("source '" + this->context().name() +
                                  "' is not replayable: it does not save a read position");
  }
  virtual void restore_position(state::reader&) {
    throw state::not_serializable("source '" + this->context().name() + "' is not replayable");
  }

  /// Emits the value `parse()` returns (a `parsed<T>`), or rejects the input
  /// as a dead letter with the failure or exception text; `position()` is
  /// only evaluated for a rejected record.
  template <class Parse, class Position>
  void emit_or_reject(Parse&& parse, Position&& position, std::string_view raw) {
    std::string reason;
    try {
      auto p = parse();
      if (p.ok()) {
        emit(std::move(p.value()));
        return;
      }
      reason = p.error();
    } catch (const std::exception& e) {
      reason = e.what();
    }
    this->context().reject(position(), std::move(reason), std::string{raw});
  }

  void emit(T value) {
    timestamp ts = timestamp::min();
    if (strategy_.timestamp_of) {
      ts = strategy_.timestamp_of(value);
      max_ts_ = std::max(max_ts_, ts);
    }
    out_.emit(std::move(value), ts);
  }

  port<T>& output() noexcept { return out_; }

private:
  watermark_strategy<T> strategy_;
  timestamp max_ts_ = timestamp::min();
  port<T> out_;
};

}  // namespace sluice
