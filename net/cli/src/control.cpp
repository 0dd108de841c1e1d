// The changing subcommands: savepoint, cancel, rescale (POST with the token).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "format.hpp"

namespace sluice::cli {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
constexpr std::chrono::milliseconds poll_interval{200};

/// What one look at /api/jobs says about the (first) job; nothing when the
/// node did not answer or runs no job.
struct job_look {
  std::string name;
  std::string state;        ///< "-" when the node does not report it.
  int64_t parallelism = 0;  ///< 0 when unknown.
};

std::optional<job_look> look_at_job(api& a, const target& t, std::string& why) {
  auto r = a.raw(t.main, "GET", "/api/jobs", "", a.timeout());
  if (!r.answered()) {
    why = fmt::format("{} unreachable at {}: {}", t.main.who(), t.main.address(), r.error);
    return std::nullopt;
  }
  if (r.status != 200) {
    why = fmt::format("GET /api/jobs answered {}", r.status);
    return std::nullopt;
  }
  const auto j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("jobs") || !j["jobs"].is_array() || j["jobs"].empty()) {
    why = "no job runs";
    return std::nullopt;
  }
  const auto& job = j["jobs"][0];
  job_look l{text(job, "job"), text(job, "state"), integer(job, "parallelism")};
  if (l.parallelism == 0) {
    // A node without the job's parallelism in /api/jobs: its operators say it.
    auto ops = a.raw(t.main, "GET", "/api/operators", "", a.timeout());
    const auto o = json::parse(ops.answered() ? ops.body : "", nullptr, false);
    if (o.is_object() && o.contains("operators") && o["operators"].is_array())
      for (auto& x : o["operators"])
        if (text(x, "job") == l.name)
          l.parallelism = std::max(l.parallelism, integer(x, "parallelism"));
  }
  why.clear();
  return l;
}

}  // namespace

exit_code savepoint(api& a, const target& t, bool stop, bool json_out,
                    std::chrono::seconds timeout) {
  const json r =
      a.post(t.main, stop ? "/api/savepoint?stop=true" : "/api/savepoint", t.token, timeout);
  if (json_out) {
    std::printf("%s\n", r.dump(2).c_str());
    return exit_code::ok;
  }
  if (!r.contains("savepoint") || !r["savepoint"].is_number())
    throw cli_error(exit_code::failed, "the answer names no savepoint: " + r.dump());
  std::printf("savepoint %s completed%s\n", text(r, "savepoint").c_str(),
              r.value("stopped", false) ? "; the job stopped" : "");
  return exit_code::ok;
}

exit_code cancel(api& a, const target& t, bool wait, std::chrono::seconds timeout) {
  const auto until = clock_type::now() + timeout;
  const json r = a.post(t.main, "/api/cancel", t.token, timeout);
  const std::string job = text(r, "cancelling");
  std::printf("cancelling job %s\n", job.c_str());
  if (!wait)
    return exit_code::ok;
  std::string why;
  while (clock_type::now() < until) {
    const auto l = look_at_job(a, t, why);
    // A process that ended with its job no longer answers: that is stopped too.
    if (!l || (l->state != "running" && l->state != "restarting" && l->state != "-")) {
      std::printf("job %s stopped (%s)\n", job.c_str(), l ? l->state.c_str() : why.c_str());
      return exit_code::ok;
    }
    std::this_thread::sleep_for(poll_interval);
  }
  throw cli_error(exit_code::failed,
                  fmt::format("job {} still runs {} s after the cancel", job, timeout.count()));
}

exit_code rescale(api& a, const target& t, uint32_t parallelism, std::chrono::seconds timeout) {
  const auto start = clock_type::now();
  const auto until = start + timeout;
  const json r =
      a.post(t.main, fmt::format("/api/rescale?parallelism={}", parallelism), t.token, timeout);
  std::printf("savepoint %s taken; restarting at parallelism %u\n", text(r, "savepoint").c_str(),
              parallelism);
  std::fflush(stdout);
  std::string why;
  std::optional<job_look> last;
  while (clock_type::now() < until) {
    if (auto l = look_at_job(a, t, why)) {
      last = l;
      if (l->parallelism == parallelism && (l->state == "running" || l->state == "-")) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
        std::printf("job %s runs at parallelism %u (after %s)\n", l->name.c_str(), parallelism,
                    duration_text(ms.count()).c_str());
        return exit_code::ok;
      }
    }
    std::this_thread::sleep_for(poll_interval);
  }
  throw cli_error(
      exit_code::failed,
      fmt::format("the job does not run at parallelism {} after {} s (last seen: {})", parallelism,
                  timeout.count(),
                  last ? fmt::format("{}, parallelism {}", last->state, last->parallelism) : why));
}

}  // namespace sluice::cli
