#include "task/operator_chain.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "sluice/actors/fault_injector.hpp"

namespace sluice::actors {

operator_chain::operator_chain(const job_graph& g, uint32_t vertex, uint32_t instance,
                               const sluice::clock& clk, output_side& out, hooks h)
    : graph_(g), instance_(instance), out_(out), hooks_(std::move(h)) {
  const auto& vx = g.vertices()[vertex];
  const auto& p = g.logical();
  for (size_t k = 0; k < vx.chain.size(); ++k) {
    const auto& node = p.nodes[vx.chain[k]];
    link c;
    c.node = node.id;
    c.uid = uid_of(node);
    c.op = node.make();
    c.ctx = std::make_unique<operator_context>(node.name, instance, vx.parallelism,
                                               p.max_parallelism, clk);
    c.port_gates.resize(node.num_ports + 1);
    c.port0_chained = k + 1 < vx.chain.size();
    c.m.name = node.name;
    c.m.node = node.id;
    c.m.instance = instance;
    c.live = metrics_registry::process().add(p.job_name, node.name, c.uid, instance, vx.parallelism,
                                             node.is_source);
    ops_.push_back(std::move(c));
  }
  const auto& gate_edges = g.gates_of(vertex);
  for (uint32_t gi = 0; gi < gate_edges.size(); ++gi) {
    const auto& ed = p.edges[gate_edges[gi]];
    for (auto& c : ops_)
      if (c.node == ed.from)
        c.port_gates[ed.from_port].push_back(gi);
  }
}

void operator_chain::open(bool checkpointing, const state::checkpoint_meta* restore_from,
                          state::snapshot_store* store) {
  for (size_t k = 0; k < ops_.size(); ++k) {
    current_ = k;
    ops_[k].ctx->set_checkpointing(checkpointing);
    if (restore_from)
      ops_[k].ctx->set_restored_checkpoint(restore_from->id.value);
    ops_[k].op->open(*ops_[k].ctx);
    if (restore_from)
      restore(k, *restore_from, *store);
    drain(k);
  }
}

void operator_chain::feed(size_t k, size_t input, batch_base& b) {
  current_ = k;
  faults().on_records(ops_[k].m.name, instance_, ops_[k].m.records_in + 1, b.size());
  ops_[k].m.records_in += b.size();
  ops_[k].op->process(input, b);
  drain(k);
}

void operator_chain::drain(size_t k) {
  auto& c = ops_[k];
  const size_t ports = c.port_gates.size();
  for (size_t p = 0; p < ports; ++p) {
    const bool dlq = p + 1 == ports;
    output_port_base& port =
        dlq ? static_cast<output_port_base&>(c.ctx->dead_letters()) : c.op->out(p);
    if (port.size() == 0)
      continue;
    batch_ptr b = port.take();
    if (dlq) {
      c.m.dead_letters += b->size();
    } else {
      c.m.records_out += b->size();
      if (c.op->late_port(p))
        c.m.late_records += b->size();
    }
    auto& gs = c.port_gates[p];
    if (p == 0 && c.port0_chained) {
      feed(k + 1, 0, *b);
      current_ = k;
    } else if (muted_) {
      continue;
    } else if (!gs.empty()) {
      out_.add(gs, *b);
    } else if (dlq) {
      std::vector<dead_letter> ds;
      for (auto& r : batch_cast<dead_letter>(*b).records)
        ds.push_back(std::move(r.value));
      if (hooks_.dead_letters)
        hooks_.dead_letters(std::move(ds));
    } else {
      c.m.unconsumed += b->size();
    }
  }
  if (auto t = c.ctx->pending_timer(); t && hooks_.timer)
    hooks_.timer(*t);
}

void operator_chain::advance_watermark(timestamp wm, size_t from) {
  for (size_t k = from; k < ops_.size(); ++k) {
    current_ = k;
    ops_[k].ctx->set_watermark(wm);
    ops_[k].op->on_watermark(wm);
    drain(k);
  }
  if (!muted_)
    out_.watermark(wm);
}

void operator_chain::restore_watermark(timestamp wm) {
  for (auto& c : ops_)
    c.ctx->set_watermark(wm);
}

void operator_chain::set_counts(const std::vector<operator_metrics>& counts) {
  for (size_t k = 0; k < ops_.size() && k < counts.size(); ++k) {
    auto& m = ops_[k].m;
    m.records_in = counts[k].records_in;
    m.records_out = counts[k].records_out;
    m.dead_letters = counts[k].dead_letters;
    m.unconsumed = counts[k].unconsumed;
    m.late_records = counts[k].late_records;
    m.backpressure_events = counts[k].backpressure_events;
  }
}

std::optional<timestamp> operator_chain::pending_timer() const {
  std::optional<timestamp> t;
  for (auto& c : ops_)
    if (auto p = c.ctx->pending_timer(); p && (!t || *p < *t))
      t = p;
  return t;
}

void operator_chain::fire_timers(timestamp now) {
  for (size_t k = 0; k < ops_.size(); ++k) {
    auto t = ops_[k].ctx->pending_timer();
    if (t && *t <= now) {
      ops_[k].ctx->take_timer();
      current_ = k;
      ops_[k].op->on_timer(now);
    }
    drain(k);
  }
}

void operator_chain::end_input() {
  for (size_t k = 0; k < ops_.size(); ++k) {
    current_ = k;
    ops_[k].op->end_input();
    drain(k);
  }
  for (size_t k = 0; k < ops_.size(); ++k) {
    current_ = k;
    ops_[k].op->close();
    drain(k);
  }
  if (!muted_)
    out_.end();
}

void operator_chain::notify_checkpoint_complete(uint64_t id) {
  for (size_t k = 0; k < ops_.size(); ++k) {
    current_ = k;
    ops_[k].op->notify_checkpoint_complete(id);
  }
}

std::vector<state::snapshot_store::entry> operator_chain::snapshot(uint64_t id) {
  std::vector<state::snapshot_store::entry> entries;
  const auto& p = graph_.logical();
  for (size_t k = 0; k < ops_.size(); ++k) {
    current_ = k;
    state::snapshot_writer w{p.max_parallelism, id};
    ops_[k].op->snapshot(w);
    ops_[k].live->state_entries.store(static_cast<int64_t>(ops_[k].op->state_entries()),
                                      std::memory_order_relaxed);
    const std::string& uid = ops_[k].uid;
    if (w.has_operator_state())
      entries.push_back(
          {state::snapshot_key{uid, instance_index{instance_}, state::snapshot_key::operator_state},
           std::move(w.operator_bytes())});
    if (w.has_broadcast_state() && instance_ == 0)  // the same in every instance: stored once
      entries.push_back(
          {state::snapshot_key{uid, instance_index{0}, state::snapshot_key::broadcast_state},
           std::move(w.broadcast_bytes())});
    for (auto& [kg, bytes] : w.keyed_bytes())
      entries.push_back(
          {state::snapshot_key{uid, instance_index{instance_}, key_group{kg}}, std::move(bytes)});
  }
  return entries;
}

/// Restores operator k: its own operator state when the parallelism is
/// unchanged, the keyed state of the key groups it owns, and the broadcast
/// state whatever the parallelism.
void operator_chain::restore(size_t k, const state::checkpoint_meta& meta,
                             state::snapshot_store& store) {
  const auto& p = graph_.logical();
  const auto& node = p.nodes[ops_[k].node];
  const std::string& uid = ops_[k].uid;
  faults().at(crash_point::during_recovery, meta.id.value);
  auto read = store.read(meta.id, uid);
  if (!read)
    throw std::runtime_error("cannot restore from checkpoint " + std::to_string(meta.id.value) +
                             ": " + read.error().message);
  auto& entries = read.value();
  if (entries.empty())
    return;  // operator added since the checkpoint: starts empty
  uint32_t old_par = 0;
  for (auto& [u, par] : meta.operator_parallelism)
    if (u == uid)
      old_par = par;
  const uint32_t par = ops_[k].ctx->parallelism();
  const uint32_t lo = first_key_group(instance_index{instance_}, par, p.max_parallelism).value;
  const uint32_t hi = first_key_group(instance_index{instance_ + 1}, par, p.max_parallelism).value;
  std::optional<std::string> op_state, broadcast;
  std::vector<std::string> keyed;
  bool any_op_state = false;
  for (auto& [key, bytes] : entries) {
    if (key.is_broadcast_state()) {
      broadcast = std::move(bytes);
    } else if (key.is_operator_state()) {
      any_op_state = true;
      if (old_par == par && key.instance.value == instance_)
        op_state = std::move(bytes);
    } else if (key.group.value >= lo && key.group.value < hi) {
      keyed.push_back(std::move(bytes));
    }
  }
  if (any_op_state && old_par != par)
    throw std::runtime_error(
        fmt::format("cannot restore operator '{}' with parallelism {}: it has per-instance state "
                    "from parallelism {} "
                    "(only keyed state can be redistributed)",
                    node.name, par, old_par));
  ops_[k].op->restore(
      state::snapshot_reader{std::move(op_state), std::move(keyed), std::move(broadcast)});
}

void operator_chain::publish_metrics() noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  for (auto& c : ops_) {
    c.live->records_in.store(c.m.records_in, relaxed);
    c.live->records_out.store(c.m.records_out, relaxed);
    c.live->dead_letters.store(c.m.dead_letters, relaxed);
    c.live->unconsumed.store(c.m.unconsumed, relaxed);
    c.live->late_records.store(c.m.late_records, relaxed);
    c.live->backpressure_events.store(c.m.backpressure_events, relaxed);
    c.live->watermark_ms.store(c.ctx->watermark().ms, relaxed);
  }
  if (ops_[0].live->is_source) {
    const auto [done, total] = static_cast<const source_base&>(*ops_[0].op).progress();
    ops_[0].live->input_done.store(done, relaxed);
    ops_[0].live->input_total.store(total, relaxed);
  }
}

void operator_chain::publish_task(const task_figures& f) noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  for (auto& c : ops_) {
    auto& l = *c.live;
    l.batches_in.store(f.batches_in, relaxed);
    l.batches_out.store(f.batches_out, relaxed);
    l.input_held.store(f.input_held, relaxed);
    l.input_withheld.store(f.input_withheld, relaxed);
    l.credits_in_use.store(f.credits_in_use, relaxed);
    l.output_waiting.store(f.output_waiting, relaxed);
    l.backpressured_ms.store(f.backpressured_ms, relaxed);
    l.backpressured_since_ms.store(f.backpressured_since_ms, relaxed);
  }
}

std::vector<operator_metrics> operator_chain::metrics() const {
  std::vector<operator_metrics> ms;
  for (auto& c : ops_)
    ms.push_back(c.m);
  return ms;
}

}  // namespace sluice::actors
