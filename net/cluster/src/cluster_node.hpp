#pragma once
// One node of a cluster running a job: the node service (Cap'n Proto), the
// links to the other nodes, the proxies that stand for remote tasks, and on
// the coordinating node the cluster port the supervisor deploys through.
//
// The class is one object per node process, its roles in separate files:
//   cluster_node.cpp   lifecycle, local tasks and proxies, the handler calls
//   routing.cpp        frames from other nodes to local tasks / the supervisor
//   coordinator.cpp    placement, deployment, cancel, membership, heartbeats
//   worker.cpp         a non-coordinating node: join, heartbeats, deploy, replication
// with the pure parts in placement.hpp, snapshot_transfer.hpp and the link
// table in link_table.hpp.
//
// Threads: handler callbacks run on the KJ loop thread and only hand work on
// (CAF sends, table lookups); CAF actors (proxies, the supervisor) call the
// cluster port and `send_frame` from CAF worker threads and never block; the
// blocking network calls of deploy and cancel run on the control worker; the
// node's main thread runs heartbeats and failure detection.

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "link_table.hpp"
#include "serial_worker.hpp"
#include "sluice/actors/cluster_port.hpp"
#include "sluice/actors/config.hpp"
#include "sluice/actors/job_graph.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/net/cluster_config.hpp"
#include "sluice/net/event_loop.hpp"
#include "sluice/net/handler.hpp"
#include "sluice/net/node_server.hpp"
#include "sluice/state/snapshot_store.hpp"

namespace sluice::net {

class cluster_node final : public handler, public actors::cluster_port {
public:
  cluster_node(cluster_config cfg, size_t me, caf::actor_system& sys,
               std::shared_ptr<const actors::job_graph> graph, actors::runtime_config rc,
               std::shared_ptr<state::snapshot_store> store);
  ~cluster_node() override;

  /// Starts the event loop and the node service (binds the node's port).
  void start();
  /// Stops the node service and every link; no callback runs afterwards.
  void stop();

  bool is_coordinator() const noexcept { return me_ == coord_; }
  const cluster_config& config() const noexcept { return cfg_; }

  // -- coordinator ---------------------------------------------------------
  void set_supervisor(const caf::actor& sup);
  /// Failure detection: declares nodes lost whose heartbeats stopped.
  void check_heartbeats();
  /// Tells every joined node that the job ended.
  /// `rescale_to` > 0: the job runs again at that parallelism; the nodes
  /// rebuild it and join again (see `rescale_to`).
  void shutdown_all(const std::string& reason, uint32_t rescale_to = 0);

  // -- other nodes -----------------------------------------------------------
  /// Runs this node until the coordinator says the job ended: joins, keeps
  /// heartbeats going, rejoins after losing the coordinator. Returns the
  /// process exit code (0 when the job finished).
  int run_worker(std::chrono::milliseconds give_up_after);
  /// After `run_worker` returned 0: the parallelism the coordinator runs the
  /// job at next (a rescale), or 0 when the job is over.
  /// Every node of the cluster file with its heartbeat state as this node
  /// sees it (`/api/nodes`).
  std::vector<actors::metrics_registry::node_info> node_infos() const;

  uint32_t rescale_to() const {
    std::lock_guard lock{mu_};
    return rescale_to_;
  }

  // -- used by proxies (CAF threads) ------------------------------------------
  /// Never blocks: without a link the frame waits for the connect worker.
  void send_frame(uint16_t node, frame&& f);
  /// The task a local actor stands for, or the node itself (the supervisor).
  task_ref ref_of(const caf::actor_addr& a) const;
  uint32_t attempt() const noexcept { return attempt_.load(); }
  const actors::job_graph& graph() const noexcept { return *graph_; }
  /// Edge feeding input channel `ch` of task (v, i).
  uint32_t channel_edge(uint32_t v, uint32_t i, uint32_t ch) const {
    return channel_edge_.at(v).at(i).at(ch);
  }
  /// A batch of `bytes` (encoded) crossed `edge`: sent by instance
  /// `instance` of its upstream operator (`in` false, a proxy) or received by
  /// instance `instance` of its downstream one (`in` true). Adds to that
  /// operator instance's live metrics (`sluice_bytes_out_total` / `_in_`)
  /// when its task runs here.
  void count_bytes(uint32_t edge, uint32_t instance, uint64_t bytes, bool in);

  // -- actors::cluster_port (the supervisor, coordinator only) ---------------
  uint16_t local_node() const override { return static_cast<uint16_t>(me_); }
  std::string node_name(uint16_t node) const override { return cfg_.nodes.at(node).name; }
  std::variant<actors::placement, actors::error> place(const actors::job_graph& g) override;
  void deploy(uint32_t attempt, const actors::placement& where, std::optional<uint64_t> restore,
              caf::actor reply_to) override;
  caf::actor proxy(uint32_t attempt, uint16_t node, uint32_t vertex, uint32_t instance) override;
  std::optional<actors::error> lost(uint16_t node) const override;
  void register_local(uint32_t attempt, uint32_t vertex, uint32_t instance,
                      const caf::actor& task) override;
  void cancel(uint32_t attempt, const std::string& reason) override;

  // -- handler (KJ loop thread) ---------------------------------------------
  void on_frames(const std::string& peer, std::vector<frame>&& frames) override;
  control on_control(const std::string& peer, control&& msg) override;
  void on_control_async(const std::string& peer, control&& msg, control_reply reply) override;
  void on_heartbeat(const std::string& peer, uint64_t seq) override;
  void on_put_snapshot(const std::string& peer, uint64_t checkpoint,
                       std::vector<snapshot_entry_msg>&& entries) override;
  void on_peer_lost(const std::string& peer, const std::string& reason) override;

private:
  using clock = std::chrono::steady_clock;
  /// Longest wait for one node's answer to a deploy request or a snapshot
  /// push (on the control worker or the snapshot writer, never an actor).
  static constexpr std::chrono::milliseconds control_timeout{30'000};
  struct peer_state {
    bool joined = false;
    clock::time_point last_heard{};
    std::optional<actors::error> lost;  ///< Why, once lost (until it joins again).
  };

  void node_lost(uint16_t node, const std::string& reason,
                 actors::errc code = actors::errc::node_lost);
  /// A broken link may have lost frames: on the coordinator the node is
  /// lost; elsewhere this node reports a failure of its part of the attempt.
  void handle_broken_links();
  void deliver_to_supervisor(const frame& f);
  void deliver_to_task(uint16_t from_node, frame&& f);
  void kill_local_tasks(const std::string& why);
  control worker_deploy(const deploy_msg& d);
  /// The blocking part of `deploy` (on the control worker).
  std::optional<actors::error> deploy_remote(uint32_t attempt, const deploy_msg& d,
                                             std::optional<uint64_t> restore);
  void replicate(uint64_t id, const std::vector<state::snapshot_store::entry>& entries);

  cluster_config cfg_;
  size_t me_;
  size_t coord_;
  caf::actor_system& sys_;
  std::shared_ptr<const actors::job_graph> graph_;
  actors::runtime_config rc_;
  std::shared_ptr<state::snapshot_store> store_;
  std::vector<std::vector<std::vector<uint32_t>>> channel_edge_;

  std::unique_ptr<event_loop> loop_;
  std::unique_ptr<node_server> server_;
  std::unique_ptr<link_table> links_;
  /// Blocking control calls (deploy, cancel) in the order the supervisor
  /// made them, so that a slow node never blocks an actor's thread.
  std::unique_ptr<serial_worker> control_worker_;

  /// Held shared by every blocking network call (deploy, cancel, shutdown,
  /// replication), exclusively by `stop` while it takes the links and the
  /// event loop away.
  std::shared_mutex life_;
  mutable std::mutex mu_;
  std::vector<peer_state> peers_;
  std::atomic<uint32_t> attempt_{0};
  std::atomic<uint32_t> cancelled_{0};  ///< Attempts below this one were cancelled.
  std::map<std::pair<uint32_t, uint32_t>, caf::actor>
      local_;                                 ///< Tasks of the current attempt here.
  std::map<caf::actor_addr, task_ref> refs_;  ///< Their addresses.
  std::map<std::tuple<uint32_t, uint16_t, uint32_t, uint32_t>, caf::actor> proxies_;
  caf::actor supervisor_;  ///< Coordinator: the supervisor; others: the supervisor's proxy here.
  caf::actor writer_;      ///< Others: this node's snapshot writer.
  actors::placement where_;
  std::deque<uint64_t>
      local_ids_;  ///< Others: checkpoints whose snapshots this node wrote, oldest first.
  std::vector<std::pair<uint16_t, std::string>> broken_;  ///< Links that broke, not handled yet.
  /// count_bytes's entries by (logical node, instance), looked up once per
  /// task (weak: a finished task's entry goes).
  std::mutex bytes_mu_;
  std::map<std::pair<uint32_t, uint32_t>, std::weak_ptr<actors::live_operator>> byte_entries_;

  // Worker state, guarded by mu_, signalled through cv_.
  std::condition_variable cv_;
  std::optional<std::string> shutdown_;  ///< Set when the coordinator ended the job.
  bool shutdown_ok_ = false;
  uint32_t rescale_to_ = 0;  ///< From the shutdown: run again at this parallelism.
  std::atomic<bool> stopping_{false};
  /// The job ended (coordinator: it told the nodes; others: they were told):
  /// peers leaving and links breaking are expected, not failures.
  std::atomic<bool> ending_{false};
};

/// Spawns the actor standing for task (vertex, instance) of `attempt` on
/// remote `node`: whatever it receives goes there as frames.
caf::actor spawn_task_proxy(caf::actor_system& sys, cluster_node& node, uint32_t attempt,
                            uint16_t target_node, uint32_t vertex, uint32_t instance);

/// Spawns the actor standing for the supervisor on a node that does not
/// coordinate: task reports and snapshot acknowledgements go to the
/// coordinator as frames.
caf::actor spawn_supervisor_proxy(caf::actor_system& sys, cluster_node& node, uint16_t coordinator);

}  // namespace sluice::net
