#include "cluster/cluster_node.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <thread>

#include "sluice/actors/deploy.hpp"
#include "sluice/actors/messages.hpp"
#include "sluice/actors/snapshot_writer.hpp"
#include "sluice/state/codec.hpp"

namespace sluice::net {

using namespace sluice::actors;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds control_timeout{30'000};

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

}  // namespace

cluster_node::cluster_node(cluster_config cfg, size_t me, caf::actor_system& sys,
                           std::shared_ptr<const job_graph> graph, runtime_config rc,
                           std::shared_ptr<state::snapshot_store> store)
    : cfg_(std::move(cfg)),
      me_(me),
      coord_(*cfg_.index_of(cfg_.coordinator)),
      sys_(sys),
      graph_(std::move(graph)),
      rc_(std::move(rc)),
      store_(std::move(store)),
      epoch_(static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())),
      peers_(cfg_.nodes.size()) {
  for (auto& v : graph_->vertices()) {
    channel_edge_.resize(std::max<size_t>(channel_edge_.size(), v.id + 1));
    for (uint32_t i = 0; i < v.parallelism; ++i) {
      std::vector<uint32_t> edges;
      for (auto& in : graph_->inputs(v.id, i)) edges.push_back(in.edge);
      channel_edge_[v.id].push_back(std::move(edges));
    }
  }
  peers_[me_].joined = true;
}

cluster_node::~cluster_node() { stop(); }

void cluster_node::start() {
  loop_ = std::make_unique<event_loop>();
  const auto& n = cfg_.nodes[me_];
  server_options opts;
  opts.cluster = cfg_.name;
  opts.node = n.name;
  opts.secret = cfg_.secret;
  server_ = std::make_unique<node_server>(*loop_, n.host, n.port, opts, *this);
  if (!is_coordinator()) {
    supervisor_ = spawn_supervisor_proxy(sys_, *this, static_cast<uint16_t>(coord_));
    if (store_)
      writer_ = spawn_snapshot_writer(sys_, store_, supervisor_,
                                      [this](uint64_t id, const std::vector<state::snapshot_store::entry>& es) {
                                        replicate(id, es);
                                      });
  }
}

void cluster_node::stop() {
  if (stopping_.exchange(true)) return;
  kill_local_tasks("node stopping");
  std::map<std::tuple<uint32_t, uint16_t, uint32_t, uint32_t>, caf::actor> proxies;
  {
    std::lock_guard lock{mu_};
    proxies.swap(proxies_);
  }
  for (auto& [k, p] : proxies) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  if (!is_coordinator()) {
    if (writer_) caf::anon_send_exit(writer_, caf::exit_reason::user_shutdown);
    if (supervisor_) caf::anon_send_exit(supervisor_, caf::exit_reason::user_shutdown);
  }
  supervisor_ = nullptr;
  writer_ = nullptr;
  // Wait until no caller (a proxy still draining its mailbox, the snapshot
  // writer) is using a link, then take the links, the server and the loop.
  std::unique_lock life{life_};
  std::vector<std::shared_ptr<peer_link>> links;  // dropped outside mu_ (see take_link)
  {
    std::lock_guard lock{mu_};
    for (auto& [n, l] : links_) links.push_back(std::move(l));
    links_.clear();
  }
  links.clear();
  server_.reset();
  loop_.reset();
}

// -- links and frames ---------------------------------------------------------

std::shared_ptr<peer_link> cluster_node::link(uint16_t node) {
  {
    std::lock_guard lock{mu_};
    auto it = links_.find(node);
    if (it != links_.end() && !it->second->broken()) return it->second;
  }
  const auto& n = cfg_.nodes.at(node);
  link_options o;
  o.host = n.host;
  o.port = n.port;
  o.cluster = cfg_.name;
  o.my_node = cfg_.nodes[me_].name;
  o.secret = cfg_.secret;
  auto l = std::make_shared<peer_link>(*loop_, o, [this, node, name = n.name](std::string why) {
    // Frames may have been lost with the connection: the attempt cannot go
    // on as if nothing happened. Handled by the periodic loop (a link must
    // not be destroyed from its own callback).
    spdlog::info("link to node {} broken: {}", name, why);
    if (stopping_) return;
    std::lock_guard lock{mu_};
    broken_.emplace_back(node, std::move(why));
  });
  l->connect();  // throws link_error naming the address and the cause
  std::shared_ptr<peer_link> dropped;  // destroyed after the lock is released
  std::lock_guard lock{mu_};
  auto& slot = links_[node];
  if (slot && !slot->broken()) {
    // Another thread connected meanwhile, and may already have sent on its
    // link: everyone must use that one, or frames would take two
    // connections and lose their order (or be lost with the one dropped).
    dropped = std::move(l);
    return slot;
  }
  dropped = std::exchange(slot, l);
  return slot;
}

std::shared_ptr<peer_link> cluster_node::take_link(uint16_t node) {
  std::lock_guard lock{mu_};
  auto it = links_.find(node);
  if (it == links_.end()) return nullptr;
  auto l = std::move(it->second);
  links_.erase(it);
  return l;
}

void cluster_node::send_frame(uint16_t node, frame&& f) {
  std::shared_lock life{life_};
  if (stopping_) return;
  try {
    std::vector<frame> fs;
    fs.push_back(std::move(f));
    link(node)->send(std::move(fs));
  } catch (const std::exception& e) {
    // The node is unreachable: its loss is detected by heartbeats (or the
    // connection error) and the job recovers from a checkpoint; the frame is
    // part of an attempt that will be replaced.
    spdlog::warn("cannot send to node {}: {}", cfg_.nodes[node].name, e.what());
  }
}

task_ref cluster_node::ref_of(const caf::actor_addr& a) const {
  std::lock_guard lock{mu_};
  auto it = refs_.find(a);
  return it != refs_.end() ? it->second : task_ref{task_ref::node_vertex, 0};
}

void cluster_node::on_frames(const std::string& peer, std::vector<frame>&& frames) {
  auto from = cfg_.index_of(peer);
  if (!from) throw protocol_error("frames from unknown node '" + peer + "'");
  for (auto& f : frames) {
    if (f.attempt != attempt_.load()) continue;  // an attempt that was replaced
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
  if (!is_coordinator() || !sup) throw protocol_error("a supervisor frame reached a node that does not coordinate");
  const uint32_t v = f.from.vertex, i = f.from.instance;
  std::visit(
      [&](auto& b) {
        using B = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<B, done_body>) {
          std::vector<operator_metrics> ms;
          for (auto& m : b.metrics)
            ms.push_back(operator_metrics{m.name, m.node, m.instance, m.records_in, m.records_out, m.dead_letters,
                                          m.unconsumed, m.backpressure_events});
          caf::anon_send(sup, done_atom::value, v, i, std::move(ms));
        } else if constexpr (std::is_same_v<B, failed_body>) {
          auto& x = b.failure;
          caf::anon_send(sup, failed_atom::value, v, i, task_failure{x.operator_name, x.instance, x.position, x.cause});
        } else if constexpr (std::is_same_v<B, dead_letters_body>) {
          std::vector<dead_letter> ds;
          for (auto& d : b.letters) ds.push_back(dead_letter{d.operator_name, d.instance, d.position, d.reason, d.raw});
          caf::anon_send(sup, dead_atom::value, std::move(ds));
        } else if constexpr (std::is_same_v<B, ack_body>) {
          caf::anon_send(sup, ack_atom::value, b.checkpoint, v, i, b.bytes, b.sync_ms, b.async_ms);
        } else if constexpr (std::is_same_v<B, decline_body>) {
          caf::anon_send(sup, decline_atom::value, b.checkpoint, v, i, b.reason);
        } else if constexpr (std::is_same_v<B, committed_body>) {
          caf::anon_send(sup, committed_atom::value, b.checkpoint, v, i);
        } else {
          throw protocol_error(fmt::format("a '{}' frame cannot go to a supervisor", kind_name(f.body)));
        }
      },
      f.body);
}

void cluster_node::deliver_to_task(uint16_t from_node, frame&& f) {
  const uint32_t v = f.to.vertex, i = f.to.instance;
  if (v >= channel_edge_.size() || i >= channel_edge_[v].size())
    throw protocol_error(fmt::format("frame for unknown task {}#{} (this job has {} vertices)", v, i,
                                     channel_edge_.size()));
  caf::actor task;
  {
    std::lock_guard lock{mu_};
    auto it = local_.find({v, i});
    if (it == local_.end()) {
      // Not malformed: the attempt was cancelled here a moment ago, or the
      // sender's placement is stale. Dropping is safe: the attempt recovers
      // from a checkpoint.
      spdlog::debug("dropping a '{}' frame for task {}#{} of attempt {}: not running here", kind_name(f.body), v, i,
                    f.attempt);
      return;
    }
    task = it->second;
  }
  // The sender is the proxy of the remote task here, so that what the task
  // sends back (credits) goes to it.
  caf::actor sender;
  if (f.from.vertex != task_ref::node_vertex) {
    if (f.from.vertex >= channel_edge_.size() || f.from.instance >= channel_edge_[f.from.vertex].size())
      throw protocol_error(fmt::format("frame from unknown task {}#{}", f.from.vertex, f.from.instance));
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
            throw protocol_error(fmt::format("batch for channel {} of task {}#{}, which has {}", b.channel, v, i,
                                             chans.size()));
          const auto& edge = graph_->logical().edges[chans[b.channel]];
          batch_ptr batch;
          try {
            batch = edge.codec.decode(b.data, b.count);
          } catch (const std::exception& e) {
            throw protocol_error(fmt::format("batch of {} records for task {}#{} channel {}: {}", b.count, v, i,
                                             b.channel, e.what()));
          }
          send(data_atom::value, b.channel, std::move(batch));
        } else if constexpr (std::is_same_v<B, watermark_body>) {
          send(watermark_atom::value, b.channel, b.ms, b.idle);
        } else if constexpr (std::is_same_v<B, eos_body>) {
          send(eos_atom::value, b.channel);
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

caf::actor cluster_node::proxy(uint32_t attempt, uint16_t node, uint32_t vertex, uint32_t instance) {
  std::lock_guard lock{mu_};
  auto key = std::tuple{attempt, node, vertex, instance};
  auto it = proxies_.find(key);
  if (it != proxies_.end()) return it->second;
  auto p = spawn_task_proxy(sys_, *this, attempt, node, vertex, instance);
  proxies_.emplace(key, p);
  return p;
}

void cluster_node::register_local(uint32_t attempt, uint32_t vertex, uint32_t instance, const caf::actor& task) {
  std::lock_guard lock{mu_};
  if (attempt != attempt_.load()) return;
  local_[{vertex, instance}] = task;
  refs_[task.address()] = task_ref{vertex, instance};
}

void cluster_node::kill_local_tasks(const std::string& why) {
  std::map<std::pair<uint32_t, uint32_t>, caf::actor> tasks;
  std::vector<caf::actor> old_proxies;
  {
    std::lock_guard lock{mu_};
    tasks.swap(local_);
    refs_.clear();
    for (auto it = proxies_.begin(); it != proxies_.end();) {
      if (std::get<0>(it->first) != attempt_.load() || !is_coordinator()) {
        old_proxies.push_back(it->second);
        it = proxies_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!tasks.empty()) spdlog::info("stopping {} local tasks: {}", tasks.size(), why);
  // The coordinator's own tasks are the supervisor's to stop (it links them).
  if (!is_coordinator())
    for (auto& [k, t] : tasks) caf::anon_send_exit(t, caf::exit_reason::kill);
  for (auto& p : old_proxies) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

// -- the coordinator's side ------------------------------------------------------

void cluster_node::set_supervisor(const caf::actor& sup) {
  std::lock_guard lock{mu_};
  supervisor_ = sup;
}

std::optional<placement> cluster_node::place(const job_graph& g, std::string& why_not) {
  std::vector<uint16_t> usable;
  {
    std::lock_guard lock{mu_};
    // Every node must have joined once; with failover, a node lost since
    // then is left out (its instances go to the others).
    std::vector<std::string> missing;
    for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
      if (peers_[n].joined && !peers_[n].lost)
        usable.push_back(static_cast<uint16_t>(n));
      else if (!peers_[n].joined || !cfg_.failover)
        missing.push_back(cfg_.nodes[n].name + (peers_[n].lost ? " (lost: " + *peers_[n].lost + ")" : " (not joined)"));
    }
    if (!missing.empty()) {
      why_not = fmt::format("nodes not available: {}", fmt::join(missing, ", "));
      return std::nullopt;
    }
  }
  // Round-robin over the usable nodes allowed for each operator, instance by
  // instance in vertex order: the same plan and nodes give the same placement.
  placement where(g.vertices().size());
  size_t k = 0;
  for (auto& v : g.vertices()) {
    const auto& head = g.logical().nodes[v.chain.front()];
    std::vector<uint16_t> allowed;
    const std::vector<std::string>* only = nullptr;
    for (auto* key : {&head.name, &head.uid})
      if (auto it = cfg_.constraints.find(*key); !key->empty() && it != cfg_.constraints.end()) only = &it->second;
    for (auto n : usable)
      if (!only || std::find(only->begin(), only->end(), cfg_.nodes[n].name) != only->end()) allowed.push_back(n);
    if (allowed.empty()) {
      why_not = fmt::format("no usable node for operator '{}' (constraint: {})", head.name,
                            only ? fmt::format("{}", fmt::join(*only, ", ")) : "none");
      return std::nullopt;
    }
    for (uint32_t i = 0; i < v.parallelism; ++i) where[v.id].push_back(allowed[k++ % allowed.size()]);
  }
  return where;
}

std::vector<snapshot_entry_msg> cluster_node::snapshot_for_transfer(uint64_t checkpoint) {
  std::vector<snapshot_entry_msg> out;
  auto all = store_->completed();
  if (!all) throw std::runtime_error(all.error().message);
  const state::checkpoint_meta* meta = nullptr;
  for (auto& m : all.value())
    if (m.id.value == checkpoint) meta = &m;
  if (!meta) throw std::runtime_error(fmt::format("checkpoint {} is not completed here", checkpoint));
  for (auto& [uid, par] : meta->operator_parallelism) {
    auto es = store_->read(checkpoint_id{checkpoint}, uid);
    if (!es) throw std::runtime_error(es.error().message);
    for (auto& [key, bytes] : es.value())
      out.push_back(snapshot_entry_msg{key.operator_uid, key.instance.value, key.group.value, key.is_operator_state(),
                                       std::move(bytes)});
  }
  out.push_back(snapshot_entry_msg{meta_entry_uid, 0, 0, true, encode_meta(*meta)});
  return out;
}

void cluster_node::deploy(uint32_t attempt, const placement& where, std::optional<uint64_t> restore) {
  std::shared_lock life{life_};
  if (stopping_) throw std::runtime_error("the node is stopping");
  attempt_ = attempt;
  kill_local_tasks(fmt::format("attempt {} starts", attempt));
  {
    std::lock_guard lock{mu_};
    where_ = where;
  }
  deploy_msg d;
  d.attempt = attempt;
  d.restore_from = restore.value_or(0);
  std::string shown;
  for (size_t v = 0; v < where.size(); ++v)
    for (size_t i = 0; i < where[v].size(); ++i) {
      d.placement.push_back(where[v][i]);
      shown += fmt::format(" {}#{}@{}", graph_->vertices()[v].name, i, cfg_.nodes[where[v][i]].name);
    }
  spdlog::info("attempt {}{}: placement{}", attempt, restore ? fmt::format(" (restoring checkpoint {})", *restore) : "",
               shown);
  std::vector<snapshot_entry_msg> snapshot;
  if (restore) snapshot = snapshot_for_transfer(*restore);
  for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
    if (n == me_) continue;
    {
      std::lock_guard lock{mu_};
      if (!peers_[n].joined || peers_[n].lost) continue;  // failover: its instances were placed elsewhere
    }
    const auto& name = cfg_.nodes[n].name;
    try {
      auto l = link(static_cast<uint16_t>(n));
      if (restore) l->put_snapshot(*restore, std::vector<snapshot_entry_msg>(snapshot), control_timeout);
      auto reply = l->request(control{d}, control_timeout);
      if (auto* e = std::get_if<error_msg>(&reply)) throw std::runtime_error(e->reason);
      if (!std::holds_alternative<deployed_msg>(reply))
        throw std::runtime_error(fmt::format("unexpected reply '{}' to deploy", kind_name(reply)));
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("node {}: {}", name, e.what()));
    }
  }
}

std::optional<std::string> cluster_node::lost(uint16_t node) const {
  std::lock_guard lock{mu_};
  return peers_.at(node).lost;
}

void cluster_node::cancel(uint32_t attempt, const std::string& reason) {
  std::shared_lock life{life_};
  if (stopping_) return;
  for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
    if (n == me_) continue;
    {
      std::lock_guard lock{mu_};
      if (!peers_[n].joined || peers_[n].lost) continue;
    }
    try {
      link(static_cast<uint16_t>(n))->request(control{cancel_msg{attempt, reason}}, milliseconds{5000});
    } catch (const std::exception& e) {
      spdlog::warn("cannot cancel attempt {} on node {}: {}", attempt, cfg_.nodes[n].name, e.what());
    }
  }
}

void cluster_node::node_lost(uint16_t node, const std::string& reason) {
  std::vector<caf::actor> proxies;
  {
    std::lock_guard lock{mu_};
    auto& p = peers_[node];
    if (!p.joined || p.lost) return;
    p.lost = reason;
    for (auto& [k, a] : proxies_)
      if (std::get<1>(k) == node) proxies.push_back(a);
  }
  take_link(node);  // dropped here, outside the lock (see take_link)
  spdlog::warn("node {} lost: {}", cfg_.nodes[node].name, reason);
  // The supervisor monitors the proxies: their exit is the failure that makes
  // the job recover.
  for (auto& a : proxies) caf::anon_send_exit(a, caf::exit_reason::remote_link_unreachable);
}

void cluster_node::handle_broken_links() {
  std::vector<std::pair<uint16_t, std::string>> broken;
  std::optional<std::pair<uint32_t, uint32_t>> victim;
  {
    std::lock_guard lock{mu_};
    broken.swap(broken_);
    if (!local_.empty()) victim = local_.begin()->first;
  }
  for (auto& [n, why] : broken) {
    const auto reason = fmt::format("connection from {} to {} broke: {}", cfg_.nodes[me_].name, cfg_.nodes[n].name, why);
    if (is_coordinator()) {
      node_lost(n, reason);
    } else if (victim && supervisor_) {
      // Batches to that node may be lost: fail this node's part of the
      // attempt, so the job restarts from the latest checkpoint.
      caf::anon_send(supervisor_, failed_atom::value, victim->first, victim->second,
                     task_failure{"(node " + cfg_.nodes[me_].name + ")", victim->second, "", reason});
    }
  }
}

void cluster_node::check_heartbeats() {
  handle_broken_links();
  const auto now = clock::now();
  std::vector<std::pair<uint16_t, std::string>> dead;
  {
    std::lock_guard lock{mu_};
    for (size_t n = 0; n < peers_.size(); ++n) {
      if (n == me_ || !peers_[n].joined || peers_[n].lost) continue;
      const auto silent = std::chrono::duration_cast<milliseconds>(now - peers_[n].last_heard);
      if (silent > cfg_.heartbeat_timeout)
        dead.emplace_back(static_cast<uint16_t>(n), fmt::format("no heartbeat for {} ms (timeout {} ms)",
                                                                silent.count(), cfg_.heartbeat_timeout.count()));
    }
  }
  for (auto& [n, why] : dead) node_lost(n, why);
}

void cluster_node::shutdown_all(const std::string& reason) {
  std::shared_lock life{life_};
  if (stopping_) return;
  for (size_t n = 0; n < cfg_.nodes.size(); ++n) {
    if (n == me_) continue;
    {
      std::lock_guard lock{mu_};
      if (!peers_[n].joined) continue;
    }
    try {
      link(static_cast<uint16_t>(n))->request(control{shutdown_msg{reason}}, milliseconds{5000});
    } catch (const std::exception& e) {
      spdlog::warn("cannot tell node {} that the job ended: {}", cfg_.nodes[n].name, e.what());
    }
  }
}

void cluster_node::on_heartbeat(const std::string& peer, uint64_t, uint64_t) {
  auto n = cfg_.index_of(peer);
  if (!n) return;
  std::lock_guard lock{mu_};
  auto& p = peers_[*n];
  if (!p.joined) return;
  if (p.lost) {
    // Heartbeats again from a node declared lost: it was paused or cut off,
    // not dead. It is usable again; what it still runs belongs to an attempt
    // that was replaced (its frames are dropped everywhere) and the next
    // deployment stops it.
    spdlog::info("node {} is back (heartbeats resumed after: {})", peer, *p.lost);
    p.lost.reset();
  }
  p.last_heard = clock::now();
}

void cluster_node::on_peer_lost(const std::string& peer, const std::string& reason) {
  auto n = cfg_.index_of(peer);
  if (!n || !is_coordinator() || *n == me_) return;
  // A node's own connection to the coordinator closed: it died or restarted.
  node_lost(static_cast<uint16_t>(*n), "connection closed: " + reason);
}

void cluster_node::on_put_snapshot(const std::string& peer, uint64_t checkpoint,
                                   std::vector<snapshot_entry_msg>&& entries) {
  if (!store_) throw std::runtime_error("node " + cfg_.nodes[me_].name + " has no state directory");
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
    auto all = store_->completed();
    if (!all) throw std::runtime_error(all.error().message);
    for (auto& m : all.value())
      if (m.id == meta->id) {
        if (m == *meta) return;
        spdlog::warn("replacing checkpoint {} of another run in {}", m.id.value, store_->dir());
        if (auto r = store_->drop(m.id); !r) throw std::runtime_error(r.error().message);
      }
  }
  if (auto r = store_->write(checkpoint_id{checkpoint}, es); !r)
    throw std::runtime_error(fmt::format("storing checkpoint {} from node {}: {}", checkpoint, peer, r.error().message));
  if (meta) {
    if (auto r = store_->commit(*meta); !r) throw std::runtime_error(r.error().message);
    // This node's store only serves restores: keep it as small as the
    // coordinator's (drops older checkpoints and unfinished ones).
    if (auto r = store_->retain(std::max(1u, rc_.checkpoints.retained)); !r)
      spdlog::warn("cannot drop old checkpoints: {}", r.error().message);
  }
}

std::pair<std::vector<snapshot_entry_msg>, std::string> cluster_node::on_fetch_snapshot(uint64_t checkpoint) {
  if (!store_) throw std::runtime_error("node " + cfg_.nodes[me_].name + " has no state directory");
  auto es = snapshot_for_transfer(checkpoint);
  std::string meta = std::move(es.back().value);
  es.pop_back();
  return {std::move(es), std::move(meta)};
}

control cluster_node::on_control(const std::string& peer, control&& msg) {
  auto from = cfg_.index_of(peer);
  if (!from) return error_msg{"unknown node '" + peer + "'"};
  if (auto* j = std::get_if<join_msg>(&msg)) {
    if (!is_coordinator()) return error_msg{"node " + cfg_.nodes[me_].name + " does not coordinate"};
    bool rejoin = false;
    {
      std::lock_guard lock{mu_};
      rejoin = peers_[*from].joined && !peers_[*from].lost;
    }
    // A node that joins while counted alive restarted (or lost its link):
    // whatever it ran is gone, so that is a loss first.
    if (rejoin) node_lost(static_cast<uint16_t>(*from), "the node joined again (restarted)");
    {
      std::lock_guard lock{mu_};
      auto& p = peers_[*from];
      p.joined = true;
      p.lost.reset();
      p.last_heard = clock::now();
    }
    take_link(static_cast<uint16_t>(*from));
    spdlog::info("node {} joined", j->node);
    return joined_msg{cfg_.coordinator, epoch_};
  }
  if (*from != coord_) return error_msg{"only the coordinator may send '" + std::string{kind_name(msg)} + "'"};
  if (auto* d = std::get_if<deploy_msg>(&msg)) return worker_deploy(*d);
  if (auto* c = std::get_if<cancel_msg>(&msg)) {
    if (c->attempt == attempt_.load()) kill_local_tasks(fmt::format("attempt {} cancelled: {}", c->attempt, c->reason));
    return ok_msg{};
  }
  if (auto* s = std::get_if<shutdown_msg>(&msg)) {
    {
      std::lock_guard lock{mu_};
      shutdown_ = s->reason;
      shutdown_ok_ = s->reason.empty();
    }
    cv_.notify_all();
    return ok_msg{};
  }
  return error_msg{fmt::format("unexpected control message '{}'", kind_name(msg))};
}

control cluster_node::worker_deploy(const deploy_msg& d) {
  const auto& g = *graph_;
  size_t total = 0;
  for (auto& v : g.vertices()) total += v.parallelism;
  if (d.placement.size() != total)
    return error_msg{fmt::format("placement names {} instances; this job has {} (same binary on every node?)",
                                 d.placement.size(), total)};
  kill_local_tasks(fmt::format("attempt {} starts", d.attempt));
  attempt_ = d.attempt;
  placement where(g.vertices().size());
  size_t k = 0;
  for (auto& v : g.vertices())
    for (uint32_t i = 0; i < v.parallelism; ++i) {
      if (d.placement[k] >= cfg_.nodes.size()) return error_msg{fmt::format("placement names node {}", d.placement[k])};
      where[v.id].push_back(d.placement[k++]);
    }
  deployment dep;
  dep.graph = graph_;
  dep.cfg = rc_;
  dep.supervisor = supervisor_;
  dep.writer = writer_;
  dep.store = store_;
  if (d.restore_from != 0) {
    if (!store_) return error_msg{"cannot restore: node " + cfg_.nodes[me_].name + " has no state directory"};
    auto all = store_->completed();
    if (!all) return error_msg{all.error().message};
    for (auto& m : all.value())
      if (m.id.value == d.restore_from) dep.restore = m;
    if (!dep.restore) return error_msg{fmt::format("checkpoint {} was not transferred here", d.restore_from)};
  }
  dep.where = &where;
  dep.local_node = static_cast<uint16_t>(me_);
  dep.remote = [&](uint32_t v, uint32_t i) { return proxy(d.attempt, where[v][i], v, i); };
  uint32_t mine = 0;
  try {
    auto actors = spawn_tasks(sys_, dep);
    std::vector<caf::actor> local;
    for (auto& v : g.vertices())
      for (uint32_t i = 0; i < v.parallelism; ++i)
        if (is_local(dep, v.id, i)) {
          register_local(d.attempt, v.id, i, actors[v.id][i]);
          ++mine;
        }
  } catch (const std::exception& e) {
    return error_msg{fmt::format("cannot deploy attempt {}: {}", d.attempt, e.what())};
  }
  spdlog::info("attempt {}: {} tasks deployed here{}", d.attempt, mine,
               d.restore_from ? fmt::format(", restored from checkpoint {}", d.restore_from) : "");
  return deployed_msg{d.attempt, mine};
}

void cluster_node::replicate(uint64_t id, const std::vector<state::snapshot_store::entry>& entries) {
  std::shared_lock life{life_};
  if (stopping_) throw std::runtime_error("the node is stopping");
  std::vector<snapshot_entry_msg> msgs;
  msgs.reserve(entries.size());
  for (auto& [key, bytes] : entries)
    msgs.push_back(snapshot_entry_msg{key.operator_uid, key.instance.value, key.group.value, key.is_operator_state(),
                                      bytes});
  link(static_cast<uint16_t>(coord_))->put_snapshot(id, std::move(msgs), control_timeout);
  // The local copies are only completed when pushed back for a restore;
  // keep the newest few so that the store does not grow without bound.
  std::optional<uint64_t> expired;
  {
    std::lock_guard lock{mu_};
    if (local_ids_.empty() || local_ids_.back() != id) local_ids_.push_back(id);
    if (local_ids_.size() > std::max(1u, rc_.checkpoints.retained) + 1) {
      expired = local_ids_.front();
      local_ids_.pop_front();
    }
  }
  if (expired) {
    auto all = store_->completed();
    bool completed = false;
    if (all)
      for (auto& m : all.value()) completed = completed || m.id.value == *expired;
    if (!completed) (void)store_->drop(checkpoint_id{*expired});  // not_found is fine: nothing was kept
  }
}

// -- a node that does not coordinate ----------------------------------------------

int cluster_node::run_worker(milliseconds give_up_after) {
  const auto& coord = cfg_.nodes[coord_];
  auto last_contact = clock::now();
  bool joined = false;
  uint64_t seq = 0;
  std::shared_ptr<peer_link> coord_link;
  for (;;) {
    {
      std::unique_lock lock{mu_};
      if (cv_.wait_for(lock, cfg_.heartbeat_interval, [&] { return shutdown_.has_value(); })) break;
    }
    try {
      auto l = link(static_cast<uint16_t>(coord_));
      if (joined && l != coord_link) {
        // A new connection: the coordinator restarted (or the old link
        // broke); whatever ran here belongs to the past.
        kill_local_tasks("the connection to the coordinator was replaced");
        joined = false;
      }
      coord_link = l;
      if (!joined) {
        auto reply = l->request(control{join_msg{cfg_.nodes[me_].name, cfg_.nodes[me_].state_dir}}, milliseconds{5000});
        if (auto* e = std::get_if<error_msg>(&reply)) throw std::runtime_error("join refused: " + e->reason);
        joined = true;
        spdlog::info("joined the cluster (coordinator {})", coord.name);
      }
      l->heartbeat(++seq, epoch_);
      handle_broken_links();
      if (auto echo = l->last_heartbeat(); echo && clock::now() - echo->received > cfg_.heartbeat_timeout)
        throw std::runtime_error(fmt::format("no answer to heartbeats for {} ms", cfg_.heartbeat_timeout.count()));
      last_contact = clock::now();
    } catch (const std::exception& e) {
      // The coordinator refusing us (wrong secret or cluster name) will not
      // change by retrying: say so and stop.
      if (std::string_view{e.what()}.find("refused:") != std::string_view::npos) {
        spdlog::error("the coordinator {} ({}:{}) refused this node: {}", coord.name, coord.host, coord.port, e.what());
        return 2;
      }
      if (joined) {
        spdlog::warn("lost the coordinator {}: {}", coord.name, e.what());
        kill_local_tasks("lost the coordinator");
        take_link(static_cast<uint16_t>(coord_));
      }
      joined = false;
      if (clock::now() - last_contact > give_up_after) {
        spdlog::error("no coordinator ({}:{}) for {} ms: giving up: {}", coord.host, coord.port, give_up_after.count(),
                      e.what());
        return 1;
      }
    }
  }
  std::lock_guard lock{mu_};
  spdlog::info("the coordinator ended the job{}", shutdown_ok_ ? "" : ": " + *shutdown_);
  return shutdown_ok_ ? 0 : 1;
}

}  // namespace sluice::net
