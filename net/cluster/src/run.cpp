#include "sluice/run.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "cluster_node.hpp"
#include "sluice/actors/job_graph.hpp"
#include "sluice/actors/logging.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/net/cluster_config.hpp"

namespace sluice {
namespace {

using actors::runtime_config;
using namespace std::chrono_literals;

/// How long a node waits for an absent coordinator before it gives up.
constexpr std::chrono::milliseconds give_up_after{120'000};

/// Edges whose ends may run on different nodes must be able to cross them.
std::string check_codecs(const actors::job_graph& g) {
  const auto& p = g.logical();
  for (uint32_t e = 0; e < p.edges.size(); ++e) {
    if (g.chained(e) || p.edges[e].codec)
      continue;
    return fmt::format(
        "the records from '{}' to '{}' (type {}) have no codec, so they cannot travel between "
        "nodes: declare the type "
        "with SLUICE_FIELDS(type, members...)",
        p.nodes[p.edges[e].from].name, p.nodes[p.edges[e].to].name, p.edges[e].codec.type_name);
  }
  return {};
}

/// The node's settings from the cluster file override the command line's.
void apply(const net::cluster_config& cc, const net::node_config& n, runtime_config& cfg) {
  cfg.state_dir = n.state_dir;
  cfg.workers = std::max(1u, n.workers);
  cfg.checkpoints.interval = cc.checkpoints.interval;
  cfg.checkpoints.timeout = cc.checkpoints.timeout;
  cfg.checkpoints.min_pause = cc.checkpoints.min_pause;
  cfg.checkpoints.retained = std::max(1u, cc.checkpoints.retained);
  cfg.restart = cc.restart;
  cfg.recovery = cc.recovery;
  cfg.inflight_log_bytes = cc.inflight_log_mb << 20;
}

/// Lists this node's view of the cluster at /api/nodes while `node` lives.
void publish_nodes(const std::shared_ptr<net::cluster_node>& node) {
  actors::metrics_registry::process().set_nodes_source(
      [w = std::weak_ptr<net::cluster_node>(node)] {
        if (auto n = w.lock())
          return n->node_infos();
        return std::vector<actors::metrics_registry::node_info>{};
      });
}

/// One run of the job on the coordinating node.
actors::job_report coordinate_once(const pipeline& p, const runtime_config& cfg,
                                   const net::cluster_config& cc, size_t me) {
  std::shared_ptr<net::cluster_node> node;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog;
  auto stop_watchdog = [&] {
    {
      std::lock_guard lock{mu};
      done = true;
    }
    cv.notify_all();
    if (watchdog.joinable())
      watchdog.join();
  };
  actors::attach_fn attach = [&](caf::actor_system& sys, std::shared_ptr<const actors::job_graph> g,
                                 std::shared_ptr<state::snapshot_store> store) {
    node = std::make_shared<net::cluster_node>(cc, me, sys, g, cfg, std::move(store));
    node->start();
    publish_nodes(node);
    spdlog::info("coordinator {} listening on {}:{}; waiting for {} other nodes", cc.nodes[me].name,
                 cc.nodes[me].host, cc.nodes[me].port, cc.nodes.size() - 1);
    watchdog = std::thread{[&] {
      std::unique_lock lock{mu};
      while (!cv.wait_for(lock, cc.heartbeat_interval, [&] { return done; })) {
        lock.unlock();
        node->check_heartbeats();
        lock.lock();
      }
    }};
    actors::cluster_attachment att;
    att.port = node;
    att.on_supervisor = [&](const caf::actor& sup) {
      node->set_supervisor(sup);
    };
    att.on_done = [&](const actors::job_report& r) {
      stop_watchdog();
      // A rescale: the other nodes rebuild the job at the new parallelism
      // and join again.
      const uint32_t rescale = r.ok && r.rescale_to && r.savepoint ? *r.rescale_to : 0;
      node->shutdown_all(r.ok ? std::string{} : r.error, rescale);
      node->stop();
    };
    return att;
  };
  auto r = actors::execute(p, cfg, attach);
  stop_watchdog();
  if (node)
    node->stop();
  return r;
}

int run_coordinator(const pipeline& p, runtime_config cfg, const net::cluster_config& cc,
                    size_t me) {
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    auto r = coordinate_once(p, cfg, cc, me);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (auto next = actors::rescaled(r, cfg)) {
      std::fputs(actors::format_summary(p, r, secs).c_str(), stderr);
      cfg = *next;
      continue;
    }
    if (cfg.print_summary || !r.ok || r.already_finished)
      std::fputs(actors::format_summary(p, r, secs).c_str(), stderr);
    return actors::exit_code(r);
  }
}

int run_worker(const pipeline& p, runtime_config cfg, const net::cluster_config& cc, size_t me) {
  if (auto err = actors::prepare_process(cfg); !err.empty()) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 2;
  }
  std::shared_ptr<state::snapshot_store> store;
  if (!cfg.state_dir.empty()) {
    auto s = state::snapshot_store::open(cfg.state_dir);
    if (!s) {
      std::fprintf(stderr, "error: cannot open state directory '%s': %s\n", cfg.state_dir.c_str(),
                   s.error().message.c_str());
      return 2;
    }
    store = s.value();
  }
  for (;;) {
    auto graph = std::make_shared<const actors::job_graph>(p.plan(), cfg);
    caf::actor_system_config sys_cfg;
    sys_cfg.set("scheduler.max-threads", static_cast<size_t>(std::max(1u, cfg.workers)));
    caf::actor_system sys{sys_cfg};
    auto node = std::make_shared<net::cluster_node>(cc, me, sys, graph, cfg, store);
    try {
      node->start();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 2;
    }
    publish_nodes(node);
    spdlog::info("node {} listening on {}:{}; joining coordinator {}", cc.nodes[me].name,
                 cc.nodes[me].host, cc.nodes[me].port, cc.coordinator);
    const int code = node->run_worker(give_up_after);
    const uint32_t rescale = node->rescale_to();
    node->stop();
    if (code != 0 || rescale == 0)
      return code;
    spdlog::info("rescale: the job runs again at parallelism {}", rescale);
    cfg.parallelism = rescale;
  }
}

}  // namespace

int run(const pipeline& p, const runtime_config& given) {
  std::unique_ptr<http_endpoint> http;
  auto serve = [&http](const runtime_config& c, const std::string& token,
                       std::vector<http_peer> peers = {}) {
    try {
      http = serve_http(c, token, std::move(peers));
      return true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return false;
    }
  };
  if (given.cluster_file.empty()) {
    if (auto err = actors::configure_logging(given, p.plan().job_name); !err.empty()) {
      std::fprintf(stderr, "error: %s\n", err.c_str());
      return 2;
    }
    return serve(given, {}) ? actors::run_embedded(p, given) : 2;
  }
  runtime_config cfg = given;
  net::cluster_config cc;
  try {
    cc = net::load_cluster_config(cfg.cluster_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
  auto me = cc.index_of(cfg.node);
  if (!me) {
    std::string names;
    for (auto& n : cc.nodes)
      names += (names.empty() ? "" : ", ") + n.name;
    std::fprintf(stderr, "error: %s: no node named '%s' (--node); the nodes are: %s\n",
                 cfg.cluster_file.c_str(), cfg.node.c_str(), names.c_str());
    return 2;
  }
  apply(cc, cc.nodes[*me], cfg);
  // Every line names this node and the job; --log-level / --log-format win
  // over the cluster file.
  if (cfg.log_level.empty())
    cfg.log_level = cc.log_level;
  if (cfg.log_format.empty())
    cfg.log_format = cc.log_format;
  if (auto err = actors::configure_logging(cfg, p.plan().job_name); !err.empty()) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 2;
  }
  if (cfg.http_port < 0)
    cfg.http_port = cc.nodes[*me].http_port;  // --http-port wins over the cluster file
  std::vector<http_peer> peers;
  for (size_t n = 0; n < cc.nodes.size(); ++n)
    if (n != *me && cc.nodes[n].http_port > 0)
      peers.push_back(
          {cc.nodes[n].name, cc.nodes[n].host, static_cast<uint16_t>(cc.nodes[n].http_port)});
  if (!serve(cfg, cc.secret, std::move(peers)))
    return 2;
  try {
    actors::job_graph g{p.plan(), cfg};
    if (cc.nodes.size() > 1)
      if (auto err = check_codecs(g); !err.empty()) {
        std::fprintf(stderr, "error: %s\n", err.c_str());
        return 2;
      }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: invalid pipeline '%s': %s\n", p.plan().job_name.c_str(), e.what());
    return 2;
  }
  // A node killed or hung must still show what it did last: warnings and
  // errors reach the log at once (configure_logging), everything else within
  // a second.
  spdlog::flush_every(std::chrono::seconds{1});
  return *me == *cc.index_of(cc.coordinator) ? run_coordinator(p, cfg, cc, *me)
                                             : run_worker(p, cfg, cc, *me);
}

int run(const pipeline& p, int argc, char** argv) {
  runtime_config cfg;
  CLI::App app{p.plan().job_name};
  actors::add_runtime_options(app, cfg);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run(p, cfg);
}

}  // namespace sluice
