#include "sluice/actors/run.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/io/tcp_line_server.hpp"
#include "sluice/actors/job_graph.hpp"
#include "sluice/actors/logging.hpp"
#include "sluice/actors/metrics_registry.hpp"
#include "sluice/actors/restart_strategy.hpp"
#include "sluice/actors/supervisor.hpp"

namespace sluice::actors {

std::string task_failure::describe() const {
  std::string out = fmt::format("operator '{}' instance {} failed", operator_name, instance);
  if (!position.empty())
    out += fmt::format(" while processing {}", position);
  out += ": ";
  out += cause;
  return out;
}

std::string recovery_record::describe() const {
  if (mode == "local")
    return fmt::format(
        "{} recovered locally from checkpoint {}: {} batches resent by its upstream instances, {} "
        "determinants replayed, {}; the other instances took in {} records meanwhile",
        instance, restored_from, batches_replayed, determinants_replayed,
        duration_ms >= 0 ? fmt::format("caught up after {} ms", duration_ms)
                         : std::string{"not caught up when the job ended"},
        others_records);
  return fmt::format("{} failed: the job restarted globally{} ({})", instance,
                     restored_from > 0 ? fmt::format(" from checkpoint {}", restored_from) : "",
                     reason.empty() ? std::string{"global recovery is configured"} : reason);
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

/// Why a fresh run must not start: an exactly-once output directory of the
/// job or the dead-letter file is not empty, so the run would add a second
/// copy of its output to the first. Empty: it may start.
std::string fresh_run_refused(const pipeline& p, const runtime_config& cfg) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto& n : p.plan().nodes) {
    if (n.exactly_once_dir.empty() || !fs::is_directory(n.exactly_once_dir, ec))
      continue;
    if (fs::directory_iterator(n.exactly_once_dir, ec) != fs::directory_iterator{})
      return fmt::format(
          "--fresh: the exactly-once output directory '{}' of operator '{}' is not empty; a "
          "fresh run would add a second copy of the output (move or empty it first)",
          n.exactly_once_dir, n.name);
  }
  if (fs::file_size(cfg.dead_letter_path, ec) > 0 && !ec)
    return fmt::format(
        "--fresh: the dead-letter file '{}' is not empty; a fresh run would add the same dead "
        "letters again (move it, or choose another one with --dead-letters)",
        cfg.dead_letter_path);
  return {};
}

/// Opens the state directory and decides where the job starts: from the
/// requested checkpoint or savepoint, else from the latest valid checkpoint
/// of an unfinished previous run (a crash), else — a first run, or `--fresh`
/// — from scratch. A previous run that finished is not run again
/// (`already_finished`) unless `--fresh` asks for it. Returns an error
/// message, or empty.
std::string prepare_state(const pipeline& p, const runtime_config& cfg, supervisor_args& args,
                          bool& already_finished) {
  already_finished = false;
  if (cfg.fresh && cfg.restore_from)
    return "--fresh runs the job from the beginning; it cannot start from a savepoint "
           "(--from-savepoint)";
  if (cfg.fresh)
    if (auto why = fresh_run_refused(p, cfg); !why.empty())
      return why;
  try {
    parse_restart_strategy(cfg.restart);
  } catch (const std::exception& e) {
    return fmt::format("invalid restart strategy: {}", e.what());
  }
  if (auto err = prepare_process(cfg); !err.empty())
    return err;
  if (cfg.state_dir.empty()) {
    if (cfg.checkpoints.interval.count() > 0 || cfg.restore_from ||
        cfg.stop_with_savepoint_after.count() > 0)
      return "checkpoints and savepoints need a state directory (--state-dir)";
    return {};
  }
  auto store = state::snapshot_store::open(cfg.state_dir);
  if (!store)
    return fmt::format("cannot open state directory '{}': {}", cfg.state_dir,
                       store.error().message);
  args.store = store.value();
  auto& st = *args.store;
  if (cfg.restore_from) {
    const checkpoint_id id{*cfg.restore_from};
    auto all = st.completed();
    if (!all)
      return all.error().message;
    for (auto& m : all.value())
      if (m.id == id)
        args.restore = m;
    if (!args.restore)
      return fmt::format("checkpoint or savepoint {} is not in state directory '{}'", id.value,
                         cfg.state_dir);
    if (auto v = st.verify(id); !v)
      return fmt::format("cannot restore from {}: {}", id.value, v.error().message);
    // This run is not finished: one killed and started again without
    // --from-savepoint resumes from its own latest checkpoint.
    if (auto r = st.erase_meta("job_finished"); !r)
      return r.error().message;
  } else {
    auto finished = st.get_meta("job_finished");
    if (!finished)
      return finished.error().message;
    if (finished.value() && !cfg.fresh) {
      // Running it again would replay its input into the same output.
      already_finished = true;
      return {};
    }
    if (finished.value() || cfg.fresh) {
      // A fresh run: its own checkpoints must never be confused with the
      // old ones, which are dropped (savepoints are kept), and the dead
      // letters the old run staged are not this run's.
      auto all = st.completed();
      if (!all)
        return all.error().message;
      for (auto& m : all.value())
        if (!m.savepoint)
          if (auto r = st.drop(m.id); !r)
            return r.error().message;
      if (auto r = st.erase_meta("job_finished"); !r)
        return r.error().message;
      std::error_code ec;
      std::filesystem::remove_all(std::filesystem::path{st.dir()} / "dead-letters", ec);
      if (ec)
        return fmt::format("cannot remove the staged dead letters in '{}': {}", st.dir(),
                           ec.message());
    } else {
      auto rp = st.latest_valid();
      if (!rp)
        return rp.error().message;
      for (auto& s : rp.value().skipped)
        args.notes.push_back(
            fmt::format("skipped damaged checkpoint {}: {}", s.id.value, s.reason.message));
      args.restore = rp.value().checkpoint;
      if (!args.restore && !rp.value().skipped.empty())
        return "every completed checkpoint in '" + cfg.state_dir +
               "' is damaged; refusing to start from the beginning";
      if (args.restore)
        args.notes.push_back(fmt::format("resuming from checkpoint {}", args.restore->id.value));
    }
  }
  return {};
}

}  // namespace

std::string prepare_process(const runtime_config& cfg) {
  tune_malloc();
  // The socket side of read_tcp_lines (libstream has no network).
  io::tcp_server_options tcp;
  tcp.host = cfg.tcp_host;
  tcp.max_connections = cfg.tcp_max_connections;
  tcp.max_connections_per_address = cfg.tcp_max_connections_per_address;
  tcp.idle_timeout = cfg.tcp_idle_timeout;
  io::install_tcp_line_server(std::move(tcp));
  try {
    install_faults(fault_injector::from_env_or(cfg.faults));
  } catch (const std::exception& e) {
    return fmt::format("invalid fault rules: {}", e.what());
  }
  return {};
}

job_report execute(const pipeline& p, const runtime_config& cfg) {
  return execute(p, cfg, attach_fn{});
}

job_report execute(const pipeline& p, const runtime_config& cfg, const attach_fn& attach) {
  tune_malloc();
  std::shared_ptr<const job_graph> graph;
  try {
    graph = std::make_shared<const job_graph>(p.plan(), cfg);
  } catch (const std::exception& e) {
    job_report r;
    r.error = fmt::format("invalid pipeline '{}': {}", p.plan().job_name, e.what());
    return r;
  }
  supervisor_args args;
  args.graph = graph;
  args.cfg = cfg;
  bool already_finished = false;
  if (auto err = prepare_state(p, cfg, args, already_finished); !err.empty()) {
    job_report r;
    r.error = std::move(err);
    return r;
  }
  if (already_finished) {
    job_report r;
    r.ok = true;
    r.already_finished = true;
    return r;
  }
  take_savepoint_request();  // a request left over from an earlier job is not for this one
  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", static_cast<size_t>(std::max(1u, cfg.workers)));
  caf::actor_system sys{sys_cfg};
  job_report report;
  {
    caf::scoped_actor self{sys};
    args.reply_to = self;
    cluster_attachment att;
    if (attach) {
      try {
        att = attach(sys, graph, args.store);
      } catch (const std::exception& e) {
        report.error = e.what();
        return report;
      }
      args.cluster = att.port;
      args.log = att.log;
    }
    auto sup = spawn_supervisor(sys, std::move(args));
    if (att.on_supervisor)
      att.on_supervisor(sup);
    bool got = false;
    auto on_report = [&](job_done_atom, job_report& r) {
      report = std::move(r);
      got = true;
    };
    if (cfg.timeout.count() > 0) {
      bool timed_out = false;
      self->receive(
          on_report, caf::after(cfg.timeout) >> [&] { timed_out = true; });
      if (timed_out) {
        self->send(sup, stop_atom::value,
                   fmt::format("job '{}' did not end within {} ms", p.plan().job_name,
                               cfg.timeout.count()));
        self->receive(on_report);
      }
    } else {
      self->receive(on_report);
    }
    (void)got;
    if (att.on_done)
      att.on_done(report);
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
  if (r.already_finished)
    return fmt::format(
        "job '{}' already finished: its state directory records the end of a previous run, so "
        "it did not run again and left its output alone (--fresh runs it again from the "
        "beginning)\n",
        p.plan().job_name);
  std::string s = fmt::format("job '{}' {} in {:.3f} s\n", p.plan().job_name,
                              r.ok ? (r.rescale_to ? "stopped to rescale" : "finished")
                                   : (r.cancelled ? "cancelled" : "failed"),
                              seconds);
  s += fmt::format("  {:<28} {:>4} {:>12} {:>12} {:>8} {:>10}\n", "operator", "par", "records in",
                   "records out", "dead", "unconsumed");
  uint64_t dead = 0;
  for (auto& [id, x] : rows) {
    s += fmt::format("  {:<28} {:>4} {:>12} {:>12} {:>8} {:>10}\n", x.name.substr(0, 28),
                     x.instances, x.in, x.out, x.dead, x.unconsumed);
    dead += x.dead;
  }
  s += fmt::format("  dead letters: {}", dead);
  if (r.dead_letters > 0)
    s += fmt::format(" ({} written to {})", r.dead_letters, r.dead_letter_path);
  s += '\n';
  if (r.checkpoints_completed > 0 || r.restarts > 0 || r.restored_from)
    s += fmt::format(
        "  checkpoints: {} completed, {} aborted, longest task stall {} ms; restarts: {}{}\n",
        r.checkpoints_completed, r.checkpoints_aborted, r.max_sync_ms, r.restarts,
        r.restored_from ? fmt::format("; last start from checkpoint {}", *r.restored_from) : "");
  if (r.savepoint)
    s += fmt::format("  savepoint: {}\n", *r.savepoint);
  for (auto& f : r.failures)
    s += fmt::format("  failure: {}\n", f);
  for (auto& rec : r.recoveries)
    s += fmt::format("  recovery: {}\n", rec.describe());
  for (auto& n : r.notes)
    s += fmt::format("  note: {}\n", n);
  return s;
}

namespace {
std::atomic<int> savepoint_request{0};
extern "C" void on_savepoint_signal(int sig) {
  savepoint_request.store(sig == SIGUSR2 ? 2 : 1);
}
}  // namespace

void request_savepoint(bool stop) noexcept {
  savepoint_request.store(stop ? 2 : 1);
}

int take_savepoint_request() noexcept {
  return savepoint_request.exchange(0);
}

int run_embedded(const pipeline& p, const runtime_config& cfg) {
  if (!cfg.cluster_file.empty()) {
    std::fprintf(
        stderr,
        "error: --cluster needs the cluster runtime: call sluice::run from sluice/run.hpp\n");
    return 2;
  }
  if (auto err = configure_logging(cfg, p.plan().job_name); !err.empty()) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 2;
  }
  std::signal(SIGUSR1, on_savepoint_signal);
  std::signal(SIGUSR2, on_savepoint_signal);
  auto t0 = std::chrono::steady_clock::now();
  std::optional<console_progress> progress;
  progress.emplace(p.plan().job_name);
  runtime_config run_cfg = cfg;
  for (;;) {
    auto r = execute(p, run_cfg);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (auto next = rescaled(r, run_cfg)) {
      std::fputs(format_summary(p, r, secs).c_str(), stderr);
      run_cfg = *next;
      continue;
    }
    progress.reset();
    if (cfg.print_summary || !r.ok || r.already_finished)
      std::fputs(format_summary(p, r, secs).c_str(), stderr);
    return exit_code(r);
  }
}

std::optional<runtime_config> rescaled(const job_report& r, const runtime_config& cfg) {
  if (!r.ok || !r.rescale_to || !r.savepoint)
    return std::nullopt;
  runtime_config next = cfg;
  next.parallelism = *r.rescale_to;
  next.restore_from = *r.savepoint;
  next.stop_with_savepoint_after = std::chrono::milliseconds{0};
  std::fprintf(stderr, "rescale: starting again at parallelism %u from savepoint %llu\n",
               next.parallelism, static_cast<unsigned long long>(*r.savepoint));
  std::fflush(stderr);
  return next;
}

int exit_code(const job_report& r) {
  if (r.ok)
    return 0;
  std::fprintf(stderr, "error: %s\n", r.error.c_str());
  return r.cancelled ? 3 : 1;
}

struct console_progress::impl {
  std::string job;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::mutex mtx;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
  /// The latest entry of each source instance (uid, instance): held, so the
  /// final figures stay readable after the tasks ended; a restarted task's
  /// entry replaces its predecessor's.
  std::map<std::pair<std::string, uint32_t>, std::shared_ptr<live_operator>> sources;

  void show(bool last) {
    for (auto& e : metrics_registry::process().entries_of(job))
      if (e->is_source)
        sources[{e->uid, e->instance}] = e;
    if (sources.empty())
      return;  // not deployed yet
    constexpr auto relaxed = std::memory_order_relaxed;
    uint64_t records = 0, done = 0, total = 0;
    bool all_known = true;
    for (auto& [key, e] : sources) {
      records += e->records_out.load(relaxed);
      done += e->input_done.load(relaxed);
      const uint64_t t = e->input_total.load(relaxed);
      total += t;
      all_known = all_known && t > 0;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double fraction =
        all_known && total > 0 ? static_cast<double>(done) / static_cast<double>(total) : -1;
    std::fprintf(stdout, "\r%s\033[K%s", render(records, secs, fraction).c_str(), last ? "\n" : "");
    std::fflush(stdout);
  }
};

console_progress::console_progress(std::string job_name) {
  if (!::isatty(STDOUT_FILENO))
    return;
  impl_ = std::make_unique<impl>();
  impl_->job = std::move(job_name);
  impl_->thread = std::thread([p = impl_.get()] {
    std::unique_lock<std::mutex> lock{p->mtx};
    while (!p->cv.wait_for(lock, std::chrono::milliseconds{500}, [p] { return p->stop; }))
      p->show(false);
  });
}

console_progress::~console_progress() {
  if (!impl_)
    return;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  impl_->show(true);
}

std::string console_progress::render(uint64_t records, double seconds, double fraction) {
  std::string line = fmt::format("progress: {} records from the sources, {:.0f} records/s", records,
                                 seconds > 0 ? static_cast<double>(records) / seconds : 0.0);
  if (fraction >= 0) {
    line += fmt::format(", {:.0f} % of the input", std::min(fraction, 1.0) * 100);
    if (fraction > 0 && fraction < 1)
      line += fmt::format(", about {:.0f} s left", seconds * (1 - fraction) / fraction);
  }
  return line;
}

void add_runtime_options(CLI::App& app, runtime_config& cfg) {
  // `JOB --help` shows every bound option's default (the option functions
  // below set theirs with default_str).
  app.option_defaults()->always_capture_default();
  app.add_option("--workers", cfg.workers, "CAF worker threads")
      ->default_str("max(2, hardware threads)")  // not this machine's figure, for the docs
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--parallelism", cfg.parallelism, "default operator parallelism")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--batch-size", cfg.batch_size, "records per batch")
      ->check(CLI::Range(1u, 1u << 20));
  app.add_option_function<int64_t>(
         "--flush-ms", [&cfg](int64_t ms) { cfg.flush_interval = std::chrono::milliseconds{ms}; },
         "max wait of a partly filled batch (ms)")
      ->default_str(std::to_string(cfg.flush_interval.count()))
      ->check(CLI::Range(int64_t{0}, int64_t{60000}));
  app.add_option_function<int64_t>(
         "--latency-interval-ms",
         [&cfg](int64_t ms) { cfg.latency_interval = std::chrono::milliseconds{ms}; },
         "sources emit a latency marker this often; sinks report source-to-sink latency "
         "(0 = off)")
      ->default_str(std::to_string(cfg.latency_interval.count()))
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  app.add_option("--credits", cfg.credits, "batches in flight per channel")
      ->check(CLI::Range(1u, 1024u));
  app.add_flag_function(
      "--chaining", [&cfg](int64_t) { cfg.chaining = true; },
      "chain forward-connected operators into one task (fewer messages)");
  app.add_flag_function(
      "--no-chaining", [&cfg](int64_t) { cfg.chaining = false; },
      "every operator instance in a task of its own (the default)");
  app.add_option("--dead-letters", cfg.dead_letter_path,
                 "file for dead letters not consumed by the pipeline");
  app.add_flag_function(
      "--quiet", [&cfg](int64_t) { cfg.print_summary = false; }, "no summary on success");
  add_logging_options(app, cfg);
  app.add_option("--http-port", cfg.http_port,
                 "serve the dashboard (/), Prometheus metrics (/metrics) and the JSON API "
                 "(/api/..., docs/http-api.md) on http://HOST:PORT; 0 = an ephemeral port, "
                 "printed at start")
      ->check(CLI::Range(0, 65535));
  app.add_option("--http-host", cfg.http_host, "address the HTTP endpoint binds to")
      ->capture_default_str();
  app.add_option("--http-token-file", cfg.http_token_file,
                 "file holding the bearer token that POST /api/savepoint, /api/cancel and "
                 "/api/rescale require (a cluster uses its secret)");
  app.add_option_function<int64_t>(
         "--timeout-s", [&cfg](int64_t s) { cfg.timeout = std::chrono::seconds{s}; },
         "fail the job after this long (0 = never)")
      ->default_str(std::to_string(cfg.timeout.count() / 1000));
  app.add_option("--state-dir", cfg.state_dir, "directory of durable state (LMDB checkpoints)");
  app.add_option_function<int64_t>(
         "--checkpoint-ms",
         [&cfg](int64_t ms) { cfg.checkpoints.interval = std::chrono::milliseconds{ms}; },
         "checkpoint interval (0 = off)")
      ->default_str(std::to_string(cfg.checkpoints.interval.count()))
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  app.add_option_function<int64_t>(
         "--checkpoint-timeout-ms",
         [&cfg](int64_t ms) { cfg.checkpoints.timeout = std::chrono::milliseconds{ms}; },
         "abort checkpoints not complete after this long")
      ->default_str(std::to_string(cfg.checkpoints.timeout.count()))
      ->check(CLI::Range(int64_t{1}, int64_t{86400000}));
  app.add_option("--checkpoints-retained", cfg.checkpoints.retained,
                 "completed checkpoints to keep")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--restart", cfg.restart,
                 "restart strategy: none | fixed-delay:attempts=3,delay=1s | "
                 "exponential:initial=100ms,max=10s,multiplier=2,reset=60s | "
                 "failure-rate:max=3,interval=1m,delay=1s");
  app.add_option("--recovery", cfg.recovery,
                 "how a failed operator instance is recovered: global (every task restarts from "
                 "the last checkpoint) | local (the instance restarts alone and replays; falls "
                 "back to global where it cannot, saying why)")
      ->check(CLI::IsMember({"global", "local"}));
  app.add_option_function<uint64_t>(
         "--inflight-log-mb", [&cfg](uint64_t mb) { cfg.inflight_log_bytes = mb << 20; },
         "memory for the in-flight and determinant logs of local recovery, per process (MiB)")
      ->default_str(std::to_string(cfg.inflight_log_bytes >> 20))
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  app.add_option_function<int64_t>(
         "--recovery-timeout-ms",
         [&cfg](int64_t ms) { cfg.recovery_timeout = std::chrono::milliseconds{ms}; },
         "fail a recovery attempt that makes no progress for this long (0 = wait forever)")
      ->default_str(std::to_string(cfg.recovery_timeout.count()))
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  app.add_option("--faults", cfg.faults, "fault-injection rules for testing (also SLUICE_FAULTS)");
  app.add_option_function<uint64_t>(
      "--from-savepoint", [&cfg](uint64_t id) { cfg.restore_from = id; },
      "start from this checkpoint or savepoint id of the state directory");
  app.add_flag_function(
      "--fresh", [&cfg](int64_t) { cfg.fresh = true; },
      "run a job whose previous run finished again from the beginning (refused while an "
      "exactly-once output directory or the dead-letter file is not empty)");
  app.add_option("--tcp-host", cfg.tcp_host,
                 "address the TCP line source listens on (0.0.0.0: every interface)")
      ->capture_default_str();
  app.add_option("--tcp-max-connections", cfg.tcp_max_connections,
                 "open connections the TCP line source accepts over all clients")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65536u));
  app.add_option("--tcp-max-connections-per-address", cfg.tcp_max_connections_per_address,
                 "open connections the TCP line source accepts from one client address")
      ->capture_default_str()
      ->check(CLI::Range(1u, 65536u));
  app.add_option_function<int64_t>(
         "--tcp-idle-timeout-ms",
         [&cfg](int64_t ms) { cfg.tcp_idle_timeout = std::chrono::milliseconds{ms}; },
         "close a TCP source connection that sent nothing for this long (0 = never)")
      ->default_str(std::to_string(cfg.tcp_idle_timeout.count()))
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  app.add_option("--cluster", cfg.cluster_file,
                 "run as a node of the cluster this TOML file describes");
  app.add_option("--node", cfg.node, "this node's name in the cluster file");
  app.add_flag_function(
      "--local", [&cfg](int64_t) { cfg.cluster_file.clear(); },
      "run embedded in this process (the default)");
  app.add_option_function<int64_t>(
         "--stop-with-savepoint-after-ms",
         [&cfg](int64_t ms) { cfg.stop_with_savepoint_after = std::chrono::milliseconds{ms}; },
         "take a savepoint after this long, then stop the job (0 = no)")
      ->default_str(std::to_string(cfg.stop_with_savepoint_after.count()));
}

}  // namespace sluice::actors
