#include "sluice/source/line_endpoint.hpp"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <utility>

#include "../state/lmdb_env.hpp"

namespace sluice::source {

namespace {

/// Endpoints by canonical log directory, and the factory of new receivers.
/// Leaked on purpose: receivers may outlive static destruction.
struct endpoint_registry {
  std::mutex mtx;
  line_receiver_factory factory;
  std::map<std::string, line_endpoint> live;
};

endpoint_registry& endpoints() {
  static auto* r = new endpoint_registry;
  return *r;
}

}  // namespace

void install_line_receiver(line_receiver_factory f) {
  auto& reg = endpoints();
  std::lock_guard lock{reg.mtx};
  reg.factory = std::move(f);
}

result<line_endpoint> acquire_line_endpoint(const std::string& log_dir, uint16_t port,
                                            size_t max_line) {
  auto canonical = state::lmdb::canonical_directory(log_dir, true, "line log");
  if (!canonical)
    return std::move(canonical).error();
  auto& reg = endpoints();
  std::lock_guard lock{reg.mtx};
  if (auto it = reg.live.find(*canonical); it != reg.live.end()) {
    const uint16_t bound = it->second.receiver->port();
    if (port != 0 && bound != port)
      return error{
          errc::invalid_argument,
          fmt::format("line log {} is already served on port {}, not {}", log_dir, bound, port)};
    return it->second;
  }
  if (!reg.factory)
    return error{errc::unavailable,
                 fmt::format("line log {}: no line receiver is installed in this process (the "
                             "sluice runtime installs one when it runs a job)",
                             log_dir)};
  auto log = state::line_log::open(log_dir);
  if (!log)
    return std::move(log).error();
  auto receiver = reg.factory(log.value(), port, max_line);
  if (!receiver)
    return std::move(receiver).error();
  line_endpoint ep{std::move(log).value(),
                   std::shared_ptr<line_receiver>(std::move(receiver).value())};
  reg.live.emplace(*canonical, ep);
  return ep;
}

void release_line_endpoint(const std::string& log_dir) {
  auto canonical = state::lmdb::canonical_directory(log_dir, false, "line log");
  if (!canonical)
    return;
  line_endpoint gone;
  {
    auto& reg = endpoints();
    std::lock_guard lock{reg.mtx};
    auto it = reg.live.find(*canonical);
    if (it == reg.live.end())
      return;
    gone = std::move(it->second);
    reg.live.erase(it);
  }
  // `gone` goes here, without the lock: the receiver stops now unless a
  // source still holds it.
}

}  // namespace sluice::source
