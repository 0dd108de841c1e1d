#include "sluice/actors/run.hpp"

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <fmt/format.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "sluice/actors/job_graph.hpp"
#include "sluice/actors/supervisor.hpp"

namespace sluice::actors {

std::string task_failure::describe() const {
  std::string out = fmt::format("operator '{}' instance {} failed", operator_name, instance);
  if (!position.empty()) out += fmt::format(" while processing {}", position);
  out += ": ";
  out += cause;
  return out;
}

namespace {

/// Batches are allocated and freed on different worker threads; glibc's
/// default trimming then returns memory to the OS and faults it back in over
/// and over (measured: up to 16x slower with 2 workers). Keep freed memory.
void tune_malloc() {
  static const bool once = [] {
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    return true;
  }();
  (void)once;
}

}  // namespace

job_report execute(const pipeline& p, const runtime_config& cfg) {
  tune_malloc();
  std::shared_ptr<const job_graph> graph;
  try {
    graph = std::make_shared<const job_graph>(p.plan(), cfg);
  } catch (const std::exception& e) {
    job_report r;
    r.error = fmt::format("invalid pipeline '{}': {}", p.plan().job_name, e.what());
    return r;
  }
  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(std::max(1u, cfg.workers)));
  caf::actor_system sys{sys_cfg};
  job_report report;
  {
    caf::scoped_actor self{sys};
    auto sup = spawn_supervisor(sys, graph, cfg, self);
    bool got = false;
    auto on_report = [&](job_done_atom, job_report& r) {
      report = std::move(r);
      got = true;
    };
    if (cfg.timeout.count() > 0) {
      bool timed_out = false;
      self->receive(on_report, caf::after(cfg.timeout) >> [&] { timed_out = true; });
      if (timed_out) {
        self->send(sup, stop_atom::value,
                   fmt::format("job '{}' did not end within {} ms", p.plan().job_name, cfg.timeout.count()));
        self->receive(on_report);
      }
    } else {
      self->receive(on_report);
    }
    (void)got;
  }
  return report;
}

std::string format_summary(const pipeline& p, const job_report& r, double seconds) {
  struct row {
    std::string name;
    uint32_t instances = 0;
    uint64_t in = 0, out = 0, dead = 0, unconsumed = 0, bp = 0;
  };
  std::map<uint32_t, row> rows;
  for (auto& m : r.metrics) {
    auto& x = rows[m.node];
    x.name = m.name;
    ++x.instances;
    x.in += m.records_in;
    x.out += m.records_out;
    x.dead += m.dead_letters;
    x.unconsumed += m.unconsumed;
    x.bp += m.backpressure_events;
  }
  std::string s = fmt::format("job '{}' {} in {:.3f} s\n", p.plan().job_name, r.ok ? "finished" : "failed", seconds);
  s += fmt::format("  {:<28} {:>4} {:>12} {:>12} {:>8} {:>10}\n", "operator", "par", "records in", "records out",
                   "dead", "unconsumed");
  uint64_t dead = 0;
  for (auto& [id, x] : rows) {
    s += fmt::format("  {:<28} {:>4} {:>12} {:>12} {:>8} {:>10}\n", x.name.substr(0, 28), x.instances, x.in, x.out,
                     x.dead, x.unconsumed);
    dead += x.dead;
  }
  s += fmt::format("  dead letters: {}", dead);
  if (r.dead_letters > 0) s += fmt::format(" ({} written to {})", r.dead_letters, r.dead_letter_path);
  s += '\n';
  return s;
}

int run(const pipeline& p, const runtime_config& cfg) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = execute(p, cfg);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (cfg.print_summary || !r.ok) std::fputs(format_summary(p, r, secs).c_str(), stderr);
  if (!r.ok) {
    std::fprintf(stderr, "error: %s\n", r.error.c_str());
    return 1;
  }
  return 0;
}

void add_runtime_options(CLI::App& app, runtime_config& cfg) {
  app.add_option("--workers", cfg.workers, "CAF worker threads")->check(CLI::Range(1u, 1024u));
  app.add_option("--parallelism", cfg.parallelism, "default operator parallelism")->check(CLI::Range(1u, 4096u));
  app.add_option("--batch-size", cfg.batch_size, "records per batch")->check(CLI::Range(1u, 1u << 20));
  app.add_option_function<int64_t>(
         "--flush-ms", [&cfg](int64_t ms) { cfg.flush_interval = std::chrono::milliseconds{ms}; },
         "max wait of a partly filled batch (ms)")
      ->check(CLI::Range(int64_t{0}, int64_t{60000}));
  app.add_option("--credits", cfg.credits, "batches in flight per channel")->check(CLI::Range(1u, 1024u));
  app.add_flag_function("--no-chaining", [&cfg](int64_t) { cfg.chaining = false; },
                        "run every operator in a task of its own");
  app.add_option("--dead-letters", cfg.dead_letter_path, "file for dead letters not consumed by the pipeline");
  app.add_flag_function("--quiet", [&cfg](int64_t) { cfg.print_summary = false; }, "no summary on success");
  app.add_option_function<int64_t>(
      "--timeout-s", [&cfg](int64_t s) { cfg.timeout = std::chrono::seconds{s}; }, "fail the job after this long");
}

int run(const pipeline& p, int argc, char** argv) {
  runtime_config cfg;
  CLI::App app{p.plan().job_name};
  add_runtime_options(app, cfg);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run(p, cfg);
}

}  // namespace sluice::actors
