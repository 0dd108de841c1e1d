#include "sluice/actors/supervisor.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "sluice/actors/messages.hpp"
#include "sluice/actors/task.hpp"

namespace sluice::actors {
namespace {

class node_supervisor : public caf::event_based_actor {
 public:
  node_supervisor(caf::actor_config& cfg, std::shared_ptr<const job_graph> graph, runtime_config rc,
                  caf::actor reply_to)
      : caf::event_based_actor(cfg), graph_(std::move(graph)), cfg_(std::move(rc)), reply_to_(std::move(reply_to)) {}

  ~node_supervisor() override {
    if (dead_file_) std::fclose(dead_file_);
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
    // Tasks are linked to the supervisor so that they never outlive it; their
    // own exits are handled through monitoring (down messages) instead.
    set_exit_handler([](caf::exit_msg&) {});
    deploy();
    return {
        [this](done_atom, uint32_t v, uint32_t i, std::vector<operator_metrics>& ms) {
          finished_.insert({v, i});
          for (auto& m : ms) metrics_.push_back(std::move(m));
          if (finished_.size() == total_ && !reported_) report(true, "");
        },
        [this](failed_atom, uint32_t v, uint32_t i, task_failure& f) {
          failed_.insert({v, i});
          on_failure(f.describe());
        },
        [this](dead_atom, std::vector<dead_letter>& ds) { write_dead_letters(ds); },
        [this](stop_atom, std::string& why) { on_failure(why); },
    };
  }

 private:
  void deploy() {
    const auto& g = *graph_;
    const auto& p = g.logical();
    const auto& vs = g.vertices();
    actors_.resize(vs.size());
    std::vector<std::vector<std::vector<input_channel>>> inputs(vs.size());
    for (auto& v : vs)
      for (uint32_t i = 0; i < v.parallelism; ++i) inputs[v.id].push_back(g.inputs(v.id, i));
    for (size_t vi = vs.size(); vi-- > 0;) {
      const auto& v = vs[vi];
      for (uint32_t i = 0; i < v.parallelism; ++i) {
        task_spec spec;
        spec.graph = graph_;
        spec.vertex = v.id;
        spec.instance = i;
        spec.cfg = cfg_;
        spec.supervisor = caf::actor_cast<caf::actor>(this);
        spec.inputs = inputs[v.id][i];
        for (uint32_t e : g.gates_of(v.id)) {
          const auto& ed = p.edges[e];
          const uint32_t dv = g.vertex_of(ed.to);
          gate_spec gs;
          gs.edge = e;
          auto targets = g.targets(e, i);
          gs.partitioner = ed.make_partitioner(g.kind(e), i, static_cast<uint32_t>(targets.size()), p.max_parallelism);
          for (uint32_t t : targets) {
            gs.dest.push_back(actors_[dv].at(t));
            const auto& chans = inputs[dv][t];
            uint32_t c = 0;
            while (c < chans.size() && !(chans[c].edge == e && chans[c].from_instance == i)) ++c;
            if (c == chans.size()) throw std::logic_error("job graph: missing input channel");
            gs.dest_channel.push_back(c);
          }
          spec.gates.push_back(std::move(gs));
        }
        auto task = spawn_task(system(), std::move(spec));
        monitor(task);
        link_to(task);
        actors_[v.id].push_back(task);
        ++total_;
      }
    }
    // Start downstream tasks first: a task's start message is then enqueued
    // before any data its upstream can send it.
    for (size_t vi = vs.size(); vi-- > 0;)
      for (auto& a : actors_[vi]) send(a, start_atom::value);
  }

  void on_down(const caf::down_msg& dm) {
    for (uint32_t v = 0; v < actors_.size(); ++v)
      for (uint32_t i = 0; i < actors_[v].size(); ++i)
        if (actors_[v][i].address() == dm.source) {
          if (finished_.count({v, i}) || failed_.count({v, i})) return;
          failed_.insert({v, i});
          on_failure(fmt::format("task {}#{} stopped unexpectedly: {}", graph_->vertices()[v].name, i,
                                 system().render(dm.reason)));
          return;
        }
  }

  /// First failure: stop everything and report. (Restart strategies go here.)
  void on_failure(const std::string& why) {
    if (reported_) return;
    for (auto& vec : actors_)
      for (auto& a : vec) send_exit(a, caf::exit_reason::user_shutdown);
    report(false, why);
  }

  void report(bool ok, std::string error) {
    reported_ = true;
    job_report r;
    r.ok = ok;
    r.error = std::move(error);
    r.metrics = std::move(metrics_);
    r.dead_letters = dead_count_;
    if (dead_file_) {
      std::fflush(dead_file_);
      r.dead_letter_path = cfg_.dead_letter_path;
    }
    send(reply_to_, job_done_atom::value, std::move(r));
    quit();
  }

  void write_dead_letters(const std::vector<dead_letter>& ds) {
    if (!dead_file_) {
      dead_file_ = std::fopen(cfg_.dead_letter_path.c_str(), "ab");
      if (!dead_file_) {
        on_failure(fmt::format("cannot open dead-letter file '{}': {}", cfg_.dead_letter_path, std::strerror(errno)));
        return;
      }
    }
    for (auto& d : ds) {
      auto line = to_json_line(d);
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), dead_file_);
    }
    dead_count_ += ds.size();
  }

  std::shared_ptr<const job_graph> graph_;
  runtime_config cfg_;
  caf::actor reply_to_;
  std::vector<std::vector<caf::actor>> actors_;
  std::set<std::pair<uint32_t, uint32_t>> finished_;
  std::set<std::pair<uint32_t, uint32_t>> failed_;
  std::vector<operator_metrics> metrics_;
  size_t total_ = 0;
  bool reported_ = false;
  std::FILE* dead_file_ = nullptr;
  uint64_t dead_count_ = 0;
};

}  // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, std::shared_ptr<const job_graph> graph, runtime_config cfg,
                            caf::actor reply_to) {
  return sys.spawn<node_supervisor>(std::move(graph), std::move(cfg), std::move(reply_to));
}

}  // namespace sluice::actors
