// The actors that stand for remote peers: a task proxy turns every message a
// task or the supervisor sends to a remote task into a frame on the link to
// its node; the supervisor proxy does the same for what tasks report to a
// supervisor on another node. Frames to one node keep the order of the sends.

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "cluster_node.hpp"
#include "sluice/actors/messages.hpp"

namespace sluice::net {
namespace {

using namespace sluice::actors;

class task_proxy : public caf::event_based_actor {
public:
  task_proxy(caf::actor_config& cfg, cluster_node* node, uint32_t attempt, uint16_t target,
             uint32_t v, uint32_t i)
      : caf::event_based_actor(cfg), node_(node), attempt_(attempt), target_(target), to_{v, i} {}

  caf::behavior make_behavior() override {
    return {
        [this](data_atom, uint32_t ch, batch_ptr& b) {
          const auto& edge =
              node_->graph().logical().edges[node_->channel_edge(to_.vertex, to_.instance, ch)];
          batch_body body;
          body.channel = ch;
          body.count = static_cast<uint32_t>(b->size());
          edge.codec.encode(*b, body.data);
          node_->count_bytes(
              node_->channel_edge(to_.vertex, to_.instance, ch),
              node_
                  ->ref_of(current_sender() ? caf::actor_cast<caf::actor_addr>(current_sender())
                                            : caf::actor_addr{})
                  .instance,
              body.data.size(), false);
          forward(std::move(body));
        },
        [this](watermark_atom, uint32_t ch, int64_t ms, bool idle) {
          forward(watermark_body{ch, ms, idle});
        },
        [this](eos_atom, uint32_t ch) { forward(eos_body{ch}); },
        [this](latency_atom, uint32_t ch, int64_t us) {
          forward(latency_body{ch, us});
        },
        [this](barrier_atom, uint32_t ch, uint64_t id) {
          forward(barrier_body{ch, id});
        },
        [this](credit_atom, uint32_t gate, uint32_t target, uint32_t n) {
          forward(credit_body{gate, target, n});
        },
        [this](start_atom) { forward(start_body{}); },
        [this](checkpoint_atom, uint64_t id) { forward(trigger_body{id}); },
        [this](complete_atom, uint64_t id) { forward(complete_body{id}); },
        [this](stop_atom, std::string& why) { forward(stop_body{std::move(why)}); },
    };
  }

private:
  void forward(frame_body body) {
    frame f;
    f.to = to_;
    auto s = current_sender();
    f.from = node_->ref_of(s ? caf::actor_cast<caf::actor_addr>(s) : caf::actor_addr{});
    f.attempt = attempt_;
    f.body = std::move(body);
    node_->send_frame(target_, std::move(f));
  }

  cluster_node* node_;
  uint32_t attempt_;
  uint16_t target_;
  task_ref to_;
};

class supervisor_proxy : public caf::event_based_actor {
public:
  supervisor_proxy(caf::actor_config& cfg, cluster_node* node, uint16_t coordinator)
      : caf::event_based_actor(cfg), node_(node), coordinator_(coordinator) {}

  caf::behavior make_behavior() override {
    return {
        [this](done_atom, uint32_t v, uint32_t i, std::vector<operator_metrics>& ms) {
          done_body body;
          for (auto& m : ms)
            body.metrics.push_back(operator_metrics_msg{m.name, m.node, m.instance, m.records_in,
                                                        m.records_out, m.dead_letters, m.unconsumed,
                                                        m.backpressure_events});
          forward(v, i, std::move(body));
        },
        [this](failed_atom, uint32_t v, uint32_t i, task_failure& f) {
          forward(v, i,
                  failed_body{task_failure_msg{f.operator_name, f.instance, f.position, f.cause}});
        },
        [this](dead_atom, uint64_t epoch, std::vector<dead_letter>& ds) {
          dead_letters_body body;
          body.epoch = epoch;
          for (auto& d : ds)
            body.letters.push_back(
                dead_letter_msg{d.operator_name, d.instance, d.position, d.reason, d.raw});
          forward(task_ref::node_vertex, 0, std::move(body));
        },
        [this](ack_atom, uint64_t id, uint32_t v, uint32_t i, uint64_t bytes, int64_t sync_ms,
               int64_t async_ms, int64_t align_ms) {
          forward(v, i, ack_body{id, bytes, sync_ms, async_ms, align_ms});
        },
        [this](decline_atom, uint64_t id, uint32_t v, uint32_t i, std::string& why) {
          forward(v, i, decline_body{id, std::move(why)});
        },
        [this](committed_atom, uint64_t id, uint32_t v, uint32_t i) {
          forward(v, i, committed_body{id});
        },
    };
  }

private:
  void forward(uint32_t v, uint32_t i, frame_body body) {
    frame f;
    f.to = task_ref{task_ref::node_vertex, 0};
    f.from = task_ref{v, i};
    f.attempt = node_->attempt();
    f.body = std::move(body);
    node_->send_frame(coordinator_, std::move(f));
  }

  cluster_node* node_;
  uint16_t coordinator_;
};

}  // namespace

caf::actor spawn_task_proxy(caf::actor_system& sys, cluster_node& node, uint32_t attempt,
                            uint16_t target_node, uint32_t vertex, uint32_t instance) {
  return sys.spawn<task_proxy>(&node, attempt, target_node, vertex, instance);
}

caf::actor spawn_supervisor_proxy(caf::actor_system& sys, cluster_node& node,
                                  uint16_t coordinator) {
  return sys.spawn<supervisor_proxy>(&node, coordinator);
}

}  // namespace sluice::net
