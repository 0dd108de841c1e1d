// The reading subcommands: status, metrics, checkpoints (GET only, no token).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "commands.hpp"
#include "format.hpp"

namespace sluice::cli {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

/// One operator of a job, summed over the instances the nodes report.
struct operator_sum {
  std::string job, name, uid;
  int64_t parallelism = 0;
  std::map<int64_t, std::pair<int64_t, int64_t>> instances;  ///< index → (in, out)

  int64_t in() const {
    int64_t s = 0;
    for (auto& [i, io] : instances)
      s += io.first;
    return s;
  }
  int64_t out() const {
    int64_t s = 0;
    for (auto& [i, io] : instances)
      s += io.second;
    return s;
  }
};

/// The operators of every reachable node, in the order first seen; a node
/// other than the main one that does not answer is noted, not fatal.
std::vector<operator_sum> look(api& a, const target& t, std::vector<std::string>& notes) {
  std::vector<operator_sum> ops;
  std::map<std::string, size_t> at;
  const auto add = [&](const json& answer) {
    if (!answer.contains("operators") || !answer["operators"].is_array())
      return;
    for (auto& x : answer["operators"]) {
      const std::string key = text(x, "job") + "\n" + text(x, "uid");
      auto [it, fresh] = at.emplace(key, ops.size());
      if (fresh)
        ops.push_back({text(x, "job"), text(x, "name"), text(x, "uid"), 0, {}});
      auto& o = ops[it->second];
      o.parallelism = std::max(o.parallelism, integer(x, "parallelism"));
      o.instances[integer(x, "instance")] = {integer(x, "records_in"), integer(x, "records_out")};
    }
  };
  add(a.get_json(t.main, "/api/operators"));
  for (auto& e : t.others) {
    try {
      add(a.get_json(e, "/api/operators"));
    } catch (const cli_error& err) {
      notes.push_back(fmt::format("operators of node {} not shown: {}", e.node, err.what()));
    }
  }
  return ops;
}

json operators_json(const std::vector<operator_sum>& now, const std::vector<operator_sum>* before,
                    double seconds) {
  json out = json::array();
  for (auto& o : now) {
    json x = {{"job", o.job},
              {"name", o.name},
              {"uid", o.uid},
              {"parallelism", o.parallelism},
              {"instances", o.instances.size()},
              {"records_in", o.in()},
              {"records_out", o.out()},
              {"in_per_s", nullptr},
              {"out_per_s", nullptr}};
    if (before && seconds > 0)
      for (auto& b : *before)
        if (b.job == o.job && b.uid == o.uid) {
          x["in_per_s"] = static_cast<double>(o.in() - b.in()) / seconds;
          x["out_per_s"] = static_cast<double>(o.out() - b.out()) / seconds;
        }
    out.push_back(std::move(x));
  }
  return out;
}

void print_job(const json& j) {
  const std::string state = text(j, "state");
  std::printf("job %s: %s, parallelism %s, up %s\n", text(j, "job").c_str(),
              state == "-" ? "state unknown" : state.c_str(), text(j, "parallelism").c_str(),
              duration_text(integer(j, "uptime_ms", -1)).c_str());
  const auto id = [&](const char* key) {
    const int64_t v = integer(j, key, -1);
    return v < 0 ? std::string{"-"} : v == 0 ? std::string{"none"} : std::to_string(v);
  };
  std::printf("  checkpoints: %s completed, %s aborted, last %s, last savepoint %s\n",
              text(j, "checkpoints_completed").c_str(), text(j, "checkpoints_aborted").c_str(),
              id("last_checkpoint").c_str(), id("last_savepoint").c_str());
  std::printf("  restarts %s, failures %s\n", text(j, "restarts").c_str(),
              text(j, "failures").c_str());
}

void print_operators(const json& ops) {
  table tb{{"OPERATOR", "UID", "INSTANCES", "RECORDS IN", "RECORDS OUT", "IN", "OUT"},
           {false, false, true, true, true, true, true},
           {}};
  for (auto& o : ops) {
    const auto rate = [&](const char* k) {
      return o[k].is_number() ? rate_text(o[k].get<double>()) : std::string{"-"};
    };
    tb.rows.push_back({text(o, "name"), text(o, "uid"),
                       fmt::format("{}/{}", text(o, "instances"), text(o, "parallelism")),
                       text(o, "records_in"), text(o, "records_out"), rate("in_per_s"),
                       rate("out_per_s")});
  }
  tb.print(stdout);
}

void print_nodes(const json& nodes) {
  table tb{{"NODE", "ADDRESS", "STATE", "LAST HEARTBEAT"}, {false, false, false, true}, {}};
  for (auto& n : nodes) {
    const bool self = n.value("self", false);
    const int64_t ago = integer(n, "last_heartbeat_ms_ago", -1);
    tb.rows.push_back({text(n, "name"), text(n, "host") + ":" + text(n, "port"),
                       text(n, "state") + (self ? " (answering)" : ""),
                       ago < 0 ? "-" : duration_text(ago) + " ago"});
  }
  tb.print(stdout);
}

}  // namespace

exit_code status(api& a, const target& t, bool json_out, std::chrono::milliseconds sample) {
  const json jobs = a.get_json(t.main, "/api/jobs");
  std::vector<std::string> notes = t.skipped;
  auto first = look(a, t, notes);
  const auto t0 = clock_type::now();
  json ops;
  if (sample.count() > 0) {
    std::this_thread::sleep_for(sample);
    std::vector<std::string> ignored;  // the first look noted them already
    auto second = look(a, t, ignored);
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    ops = operators_json(second, &first, seconds);
  } else {
    ops = operators_json(first, nullptr, 0);
  }
  const json nodes = a.get_json_if_served(t.main, "/api/nodes");

  if (json_out) {
    json out = {{"jobs", jobs.value("jobs", json::array())},
                {"operators", ops},
                {"nodes", nodes.is_null() ? json(nullptr) : nodes.value("nodes", json::array())},
                {"notes", notes}};
    std::printf("%s\n", out.dump(2).c_str());
    return exit_code::ok;
  }
  const json job_list = jobs.value("jobs", json::array());
  if (job_list.empty())
    std::printf("no job runs in the process at %s\n", t.main.address().c_str());
  for (auto& j : job_list)
    print_job(j);
  if (!ops.empty()) {
    std::printf("\n");
    print_operators(ops);
  }
  std::printf("\n");
  if (nodes.is_null())
    std::printf("nodes: %s at %s does not serve /api/nodes\n", t.main.who().c_str(),
                t.main.address().c_str());
  else
    print_nodes(nodes.value("nodes", json::array()));
  for (auto& n : notes)
    std::printf("note: %s\n", n.c_str());
  return exit_code::ok;
}

exit_code metrics(api& a, const target& t, bool json_out) {
  if (json_out)
    std::printf("%s\n", a.get_json(t.main, "/api/operators").dump(2).c_str());
  else
    std::fputs(a.get_text(t.main, "/metrics").c_str(), stdout);
  return exit_code::ok;
}

exit_code checkpoints(api& a, const target& t, bool json_out) {
  const json answer = a.get_json(t.main, "/api/checkpoints");
  if (json_out) {
    std::printf("%s\n", answer.dump(2).c_str());
    return exit_code::ok;
  }
  const json list = answer.value("checkpoints", json::array());
  if (list.empty()) {
    std::printf("no checkpoint yet\n");
    return exit_code::ok;
  }
  table tb{{"ID", "KIND", "STATUS", "TRIGGERED", "DURATION", "SIZE", "FAILURE"},
           {true, false, false, false, true, true, false},
           {}};
  for (auto& c : list) {
    const int64_t d = integer(c, "duration_ms", -1);
    tb.rows.push_back(
        {text(c, "id"), c.value("savepoint", false) ? "savepoint" : "checkpoint", text(c, "status"),
         time_of_day(integer(c, "trigger_ms")), d < 0 ? "-" : duration_text(d),
         bytes_text(static_cast<uint64_t>(integer(c, "size_bytes"))), text(c, "failure")});
  }
  tb.print(stdout);
  return exit_code::ok;
}

}  // namespace sluice::cli
