#include "sluice/actors/fault_injector.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "sluice/actors/logging.hpp"

namespace sluice::actors {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto i = s.find(sep);
    auto part = s.substr(0, i);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    if (!part.empty())
      out.push_back(part);
    if (i == std::string_view::npos)
      break;
    s.remove_prefix(i + 1);
  }
  return out;
}

crash_point parse_point(std::string_view v, std::string_view rule) {
  if (v == "after_snapshot_write")
    return crash_point::after_snapshot_write;
  if (v == "before_sink_commit")
    return crash_point::before_sink_commit;
  if (v == "after_sink_commit")
    return crash_point::after_sink_commit;
  if (v == "during_recovery")
    return crash_point::during_recovery;
  throw std::invalid_argument(fmt::format("fault rule '{}': unknown crash point '{}'", rule, v));
}

delay_point parse_delay_point(std::string_view v, std::string_view rule) {
  if (v == "deploy_reply")
    return delay_point::deploy_reply;
  throw std::invalid_argument(fmt::format("fault rule '{}': unknown delay point '{}'", rule, v));
}

const char* name(crash_point p) {
  switch (p) {
    case crash_point::after_snapshot_write:
      return "after_snapshot_write";
    case crash_point::before_sink_commit:
      return "before_sink_commit";
    case crash_point::after_sink_commit:
      return "after_sink_commit";
    case crash_point::during_recovery:
      return "during_recovery";
  }
  return "?";
}

}  // namespace

fault_injector::fault_injector(std::string_view rules) {
  for (auto text : split(rules, ';')) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument(
          fmt::format("fault rule '{}': expected KIND:KEY=VALUE,...", text));
    auto kind = text.substr(0, colon);
    rule r;
    if (kind == "crash") {
      r.what = rule::kind::crash;
    } else if (kind == "kill") {
      r.what = rule::kind::kill;
    } else if (kind == "delay") {
      r.what = rule::kind::delay;
    } else if (kind != "throw") {
      throw std::invalid_argument(
          fmt::format("fault rule '{}': kind must be throw, kill, crash or delay", text));
    }
    uint64_t seed = 0;
    for (auto kv : split(text.substr(colon + 1), ',')) {
      auto eq = kv.find('=');
      if (eq == std::string_view::npos)
        throw std::invalid_argument(
            fmt::format("fault rule '{}': '{}' is not KEY=VALUE", text, kv));
      auto k = kv.substr(0, eq);
      std::string v{kv.substr(eq + 1)};
      static constexpr std::string_view keys[] = {
          "operator", "instance", "record", "probability", "seed", "at", "checkpoint", "ms"};
      if (std::find(std::begin(keys), std::end(keys), k) == std::end(keys))
        throw std::invalid_argument(fmt::format("fault rule '{}': unknown key '{}'", text, k));
      if (k == "operator") {
        r.op = v;
      } else if (k == "at") {
        if (r.what == rule::kind::delay)
          r.delay_at = parse_delay_point(v, text);
        else
          r.point = parse_point(v, text);
      } else {
        try {
          if (k == "instance")
            r.instance = static_cast<uint32_t>(std::stoul(v));
          else if (k == "record")
            r.record = std::stoull(v);
          else if (k == "probability")
            r.probability = std::stod(v);
          else if (k == "seed")
            seed = std::stoull(v);
          else if (k == "ms")
            r.delay = std::chrono::milliseconds{std::stoll(v)};
          else
            r.checkpoint = std::stoull(v);
        } catch (const std::exception&) {
          throw std::invalid_argument(
              fmt::format("fault rule '{}': bad value '{}' for {}", text, v, k));
        }
      }
    }
    if (r.what == rule::kind::delay) {
      if (!r.delay_at || r.delay.count() <= 0)
        throw std::invalid_argument(
            fmt::format("fault rule '{}': delay needs at=POINT and ms=M > 0", text));
      rules_.push_back(std::move(r));
      continue;
    }
    if (r.what == rule::kind::crash && !r.point)
      throw std::invalid_argument(fmt::format("fault rule '{}': crash needs at=POINT", text));
    if (r.what == rule::kind::throw_ && !r.record && r.probability <= 0)
      throw std::invalid_argument(
          fmt::format("fault rule '{}': throw needs record=K or probability=P", text));
    if (r.what == rule::kind::kill && (!r.record || r.op.empty() || !r.instance))
      throw std::invalid_argument(
          fmt::format("fault rule '{}': kill needs operator=NAME, instance=I and record=K", text));
    if (r.probability < 0 || r.probability > 1)
      throw std::invalid_argument(
          fmt::format("fault rule '{}': probability must be in [0, 1]", text));
    r.rng.seed(seed);
    rules_.push_back(std::move(r));
  }
}

std::shared_ptr<fault_injector> fault_injector::from_env_or(std::string_view configured) {
  if (const char* env = std::getenv("SLUICE_FAULTS"); env && *env)
    return std::make_shared<fault_injector>(env);
  return std::make_shared<fault_injector>(configured);
}

void fault_injector::on_records(std::string_view op, uint32_t instance, uint64_t first,
                                uint64_t n) {
  if (rules_.empty())
    return;  // rules never change after construction
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& r : rules_) {
    if ((r.what != rule::kind::throw_ && r.what != rule::kind::kill) ||
        (!r.op.empty() && r.op != op) || (r.instance && *r.instance != instance))
      continue;
    if (r.what == rule::kind::kill) {
      if (!r.fired && *r.record >= first && *r.record < first + n) {
        r.fired = true;
        throw injected_kill(
            fmt::format("injected kill at record {} of {} instance {}", *r.record, op, instance));
      }
    } else if (r.record) {
      if (!r.fired && *r.record >= first && *r.record < first + n) {
        r.fired = true;
        throw injected_fault(
            fmt::format("injected fault at record {} of {} instance {}", *r.record, op, instance));
      }
    } else if (std::uniform_real_distribution<double>{0, 1}(r.rng) < r.probability) {
      throw injected_fault(fmt::format("injected random fault in {} instance {}", op, instance));
    }
  }
}

void fault_injector::at(crash_point p, uint64_t checkpoint) {
  if (rules_.empty())
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& r : rules_) {
    if (r.what != rule::kind::crash || r.fired || r.point != p ||
        (r.checkpoint && *r.checkpoint != checkpoint))
      continue;
    // An error: flushed at once, before the process is gone.
    log(log_level::error, fmt::format("injected crash at {} (checkpoint {})", name(p), checkpoint));
    ::_exit(137);
  }
}

std::chrono::milliseconds fault_injector::delay(delay_point p) {
  if (rules_.empty())
    return std::chrono::milliseconds{0};
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& r : rules_) {
    if (r.what != rule::kind::delay || r.fired || r.delay_at != p)
      continue;
    r.fired = true;
    return r.delay;
  }
  return std::chrono::milliseconds{0};
}

namespace {
std::shared_ptr<fault_injector>& current() {
  static auto f = std::make_shared<fault_injector>();
  return f;
}
}  // namespace

fault_injector& faults() {
  return *current();
}

void install_faults(std::shared_ptr<fault_injector> f) {
  // Replaced only between jobs (execute), never while tasks run.
  current() = std::move(f);
}

}  // namespace sluice::actors
