#pragma once

#include <cstdint>
#include <vector>

#include "sluice/actors/output_gate.hpp"

namespace sluice::actors {

/// The output side of a task: one `output_gate` per network edge leaving its
/// vertex (gate `g` serves `job_graph::gates_of(vertex)[g]`). Applies what
/// concerns every gate at once (flush, watermarks, idleness, barriers, end)
/// and answers whether the task must hold back its input (backpressure) or
/// has finished sending. Pure logic like the gates; used by one task's thread.
class output_side {
public:
  output_gate& operator[](size_t g) { return gates_[g]; }
  size_t size() const noexcept { return gates_.size(); }
  void add_gate(output_gate&& g) { gates_.push_back(std::move(g)); }

  /// Records of one port: every gate the port feeds partitions them (the
  /// last one may consume the batch).
  void add(const std::vector<uint32_t>& gates, batch_base& b) {
    ++adds_;
    for (size_t i = 0; i < gates.size(); ++i)
      gates_[gates[i]].add(b, i + 1 == gates.size());
  }
  /// Times records were added (a task that fails part-way through an
  /// operation compares it to tell whether that operation already emitted).
  uint64_t adds() const noexcept { return adds_; }

  // -- local recovery (see output_gate) --------------------------------------
  void mark(uint64_t checkpoint) {
    for (auto& g : gates_)
      g.mark(checkpoint);
  }
  void truncate(uint64_t checkpoint) {
    for (auto& g : gates_)
      g.truncate(checkpoint);
  }
  void hold_credits() {
    for (auto& g : gates_)
      g.hold_credits();
  }
  uint64_t log_bytes() const noexcept { return sum(&output_gate::log_bytes); }

  void flush() {
    for (auto& g : gates_)
      g.flush();
  }
  void watermark(timestamp wm) {
    for (auto& g : gates_)
      g.watermark(wm);
  }
  void idle(bool is_idle) {
    for (auto& g : gates_)
      g.idle(is_idle);
  }
  void barrier(uint64_t checkpoint) {
    for (auto& g : gates_)
      g.barrier(checkpoint);
  }
  /// A latency marker goes on every gate (to one target of each).
  void latency_marker(int64_t marked_us) {
    for (auto& g : gates_)
      g.latency_marker(marked_us);
  }
  void end() {
    for (auto& g : gates_)
      g.end();
  }

  /// Some gate holds records not yet cut into a batch (a flush is due later).
  bool has_buffered() const noexcept {
    for (auto& g : gates_)
      if (g.has_buffered())
        return true;
    return false;
  }
  /// Some target has batches waiting for credit: take no new input.
  bool backpressured() const noexcept {
    for (auto& g : gates_)
      if (g.backpressured())
        return true;
    return false;
  }
  /// Figures over every gate (see output_gate).
  uint64_t batches_sent() const noexcept { return sum(&output_gate::batches_sent); }
  uint64_t in_flight() const noexcept { return sum(&output_gate::in_flight); }
  uint64_t waiting() const noexcept { return sum(&output_gate::waiting); }
  /// Everything emitted was sent.
  bool drained() const noexcept {
    for (auto& g : gates_)
      if (!g.drained())
        return false;
    return true;
  }

private:
  uint64_t sum(uint64_t (output_gate::*figure)() const noexcept) const noexcept {
    uint64_t n = 0;
    for (auto& g : gates_)
      n += (g.*figure)();
    return n;
  }

  std::vector<output_gate> gates_;
  uint64_t adds_ = 0;
};

}  // namespace sluice::actors
