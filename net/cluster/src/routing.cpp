#include "cluster_node.hpp"

#include <fmt/format.h>
#include <caf/all.hpp>

#include "sluice/actors/logging.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/net/protocol_error.hpp"

// Frames from other nodes: to a local task (as the message the sender's
// proxy here would have sent) or, on the coordinator, to the supervisor.

namespace sluice::net {

using namespace sluice::actors;

void cluster_node::on_frames(const std::string& peer, std::vector<frame>&& frames) {
  auto from = cfg_.index_of(peer);
  if (!from)
    throw protocol_error("frames from unknown node '" + peer + "'");
  for (auto& f : frames) {
    if (f.attempt != attempt_.load())
      continue;  // an attempt that was replaced
    if (f.to.vertex == task_ref::node_vertex)
      deliver_to_supervisor(f);
    else
      deliver_to_task(static_cast<uint16_t>(*from), std::move(f));
  }
}

void cluster_node::deliver_to_supervisor(const frame& f) {
  caf::actor sup;
  {
    std::lock_guard lock{mu_};
    sup = supervisor_;
  }
  if (!is_coordinator() || !sup)
    throw protocol_error("a supervisor frame reached a node that does not coordinate");
  const uint32_t v = f.from.vertex, i = f.from.instance;
  std::visit(
      [&](auto& b) {
        using B = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<B, done_body>) {
          std::vector<operator_metrics> ms;
          for (auto& m : b.metrics)
            ms.push_back(operator_metrics{m.name, m.node, m.instance, m.records_in, m.records_out,
                                          m.dead_letters, m.unconsumed, m.backpressure_events});
          caf::anon_send(sup, done_atom::value, v, i, std::move(ms));
        } else if constexpr (std::is_same_v<B, failed_body>) {
          auto& x = b.failure;
          caf::anon_send(sup, failed_atom::value, v, i,
                         task_failure{x.operator_name, x.instance, x.position, x.cause});
        } else if constexpr (std::is_same_v<B, dead_letters_body>) {
          std::vector<dead_letter> ds;
          for (auto& d : b.letters)
            ds.push_back(dead_letter{d.operator_name, d.instance, d.position, d.reason, d.raw});
          caf::anon_send(sup, dead_atom::value, b.epoch, std::move(ds));
        } else if constexpr (std::is_same_v<B, ack_body>) {
          caf::anon_send(sup, ack_atom::value, b.checkpoint, v, i, b.bytes, b.sync_ms, b.async_ms,
                         b.align_ms);
        } else if constexpr (std::is_same_v<B, decline_body>) {
          caf::anon_send(sup, decline_atom::value, b.checkpoint, v, i, b.reason);
        } else if constexpr (std::is_same_v<B, committed_body>) {
          caf::anon_send(sup, committed_atom::value, b.checkpoint, v, i);
        } else {
          throw protocol_error(
              fmt::format("a '{}' frame cannot go to a supervisor", kind_name(f.body)));
        }
      },
      f.body);
}

void cluster_node::deliver_to_task(uint16_t from_node, frame&& f) {
  const uint32_t v = f.to.vertex, i = f.to.instance;
  if (v >= channel_edge_.size() || i >= channel_edge_[v].size())
    throw protocol_error(fmt::format("frame for unknown task {}#{} (this job has {} vertices)", v,
                                     i, channel_edge_.size()));
  caf::actor task;
  {
    std::lock_guard lock{mu_};
    auto it = local_.find({v, i});
    if (it == local_.end()) {
      // Not malformed: the attempt was cancelled here a moment ago, or the
      // sender's placement is stale. Dropping is safe: the attempt recovers
      // from a checkpoint.
      actors::log(
          actors::log_level::debug, {graph_->vertices()[v].name, i},
          fmt::format("dropping a '{}' frame for task {}#{} of attempt {}: not running here",
                      kind_name(f.body), v, i, f.attempt));
      return;
    }
    task = it->second;
  }
  // The sender is the proxy of the remote task here, so that what the task
  // sends back (credits) goes to it.
  caf::actor sender;
  if (f.from.vertex != task_ref::node_vertex) {
    if (f.from.vertex >= channel_edge_.size() ||
        f.from.instance >= channel_edge_[f.from.vertex].size())
      throw protocol_error(
          fmt::format("frame from unknown task {}#{}", f.from.vertex, f.from.instance));
    sender = proxy(f.attempt, from_node, f.from.vertex, f.from.instance);
  }
  auto send = [&](auto&&... xs) {
    if (sender)
      caf::send_as(sender, task, std::forward<decltype(xs)>(xs)...);
    else
      caf::anon_send(task, std::forward<decltype(xs)>(xs)...);
  };
  std::visit(
      [&](auto& b) {
        using B = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<B, batch_body>) {
          const auto& chans = channel_edge_[v][i];
          if (b.channel >= chans.size())
            throw protocol_error(fmt::format("batch for channel {} of task {}#{}, which has {}",
                                             b.channel, v, i, chans.size()));
          const auto& edge = graph_->logical().edges[chans[b.channel]];
          count_bytes(chans[b.channel], i, b.data.size(), true);
          batch_ptr batch;
          try {
            batch = edge.codec.decode(b.data, b.count);
          } catch (const std::exception& e) {
            throw protocol_error(fmt::format("batch of {} records for task {}#{} channel {}: {}",
                                             b.count, v, i, b.channel, e.what()));
          }
          send(data_atom::value, b.channel, std::move(batch));
        } else if constexpr (std::is_same_v<B, watermark_body>) {
          send(watermark_atom::value, b.channel, b.ms, b.idle);
        } else if constexpr (std::is_same_v<B, eos_body>) {
          send(eos_atom::value, b.channel);
        } else if constexpr (std::is_same_v<B, latency_body>) {
          send(latency_atom::value, b.channel, b.marked_us);
        } else if constexpr (std::is_same_v<B, barrier_body>) {
          send(barrier_atom::value, b.channel, b.checkpoint);
        } else if constexpr (std::is_same_v<B, credit_body>) {
          send(credit_atom::value, b.gate, b.target, b.n);
        } else if constexpr (std::is_same_v<B, start_body>) {
          send(start_atom::value);
        } else if constexpr (std::is_same_v<B, trigger_body>) {
          send(checkpoint_atom::value, b.checkpoint);
        } else if constexpr (std::is_same_v<B, complete_body>) {
          send(complete_atom::value, b.checkpoint);
        } else if constexpr (std::is_same_v<B, stop_body>) {
          send(stop_atom::value, b.reason);
        } else {
          throw protocol_error(fmt::format("a '{}' frame cannot go to a task", kind_name(f.body)));
        }
      },
      f.body);
}

}  // namespace sluice::net
