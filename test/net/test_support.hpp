#pragma once

// Shared pieces of the net tests: frames of every kind, a handler that
// records what it receives, and bounded waiting.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sluice/net/node_service.hpp"

namespace net_test {

using namespace sluice::net;
using namespace std::chrono_literals;

inline constexpr const char* cluster_name = "test-cluster";
inline constexpr const char* secret = "0123456789abcdef0123456789abcdef";

/// Frame `i` of a deterministic sequence that cycles through every kind.
inline frame make_frame(uint32_t i) {
  frame f{{i % 7, i % 3}, {task_ref::node_vertex, i % 5}, 1 + i % 4, start_body{}};
  const uint64_t cp = 1 + i;
  switch (i % 16) {
    case 0:
      f.body = batch_body{i % 4, 3, "rec-" + std::to_string(i) + std::string("\0\xff", 2)};
      break;
    case 1:
      f.body = watermark_body{i % 4, -static_cast<int64_t>(i) * 1000, i % 2 == 0};
      break;
    case 2:
      f.body = eos_body{i % 4};
      break;
    case 3:
      f.body = barrier_body{i % 4, cp};
      break;
    case 4:
      f.body = credit_body{1, i % 9, 1 + i % 16};
      break;
    case 5:
      f.body = start_body{};
      break;
    case 6:
      f.body = trigger_body{cp};
      break;
    case 7:
      f.body = complete_body{cp};
      break;
    case 8:
      f.body = stop_body{"stop " + std::to_string(i)};
      break;
    case 9:
      f.body = done_body{{{"map", 1, i % 2, 10, 9, 1, 0, 3}, {"sink", 2, 0, i, 0, 0, i, 0}}};
      break;
    case 10:
      f.body = failed_body{{"parse", 2, "data.csv:" + std::to_string(i), "bad number"}};
      break;
    case 11:
      f.body = dead_letters_body{
          {{"parse", 0, "in:1", "not a number", "x,y"}, {"parse", 1, "in:2", "empty", ""}},
          cp};  // the epoch: the checkpoint the task last snapshotted
      break;
    case 12:
      f.body = ack_body{cp, 4096 + i, 3, 17, 5};
      break;
    case 13:
      f.body = decline_body{cp, "source not ready"};
      break;
    case 14:
      f.body = committed_body{cp};
      break;
    case 15:
      f.body = latency_body{i % 4, 1'780'000'000'000'000 + static_cast<int64_t>(i)};
      break;
  }
  return f;
}

/// Records every call; tests wait on it with a bound.
class recording_handler : public handler {
public:
  void on_frames(const std::string& peer, std::vector<frame>&& frames) override {
    std::lock_guard lock{mutex_};
    peers_.push_back(peer);
    ++deliver_calls_;
    for (auto& f : frames)
      frames_.push_back(std::move(f));
    cv_.notify_all();
  }

  control on_control(const std::string& peer, control&& msg) override {
    std::lock_guard lock{mutex_};
    peers_.push_back(peer);
    if (std::holds_alternative<shutdown_msg>(msg))
      throw std::runtime_error("shutdown refused in this test");
    if (auto* j = std::get_if<join_msg>(&msg))
      return joined_msg{"coordinator-of-" + j->node};
    return ok_msg{};
  }

  void on_heartbeat(const std::string&, uint64_t seq) override {
    std::lock_guard lock{mutex_};
    last_seq_ = seq;
  }

  void on_put_snapshot(const std::string&, uint64_t checkpoint,
                       std::vector<snapshot_entry_msg>&& e) override {
    std::lock_guard lock{mutex_};
    if (checkpoint == 5)
      throw std::runtime_error("no room for snapshot 5");
    snapshots_[checkpoint] = std::move(e);
  }

  void on_peer_lost(const std::string& peer, const std::string& reason) override {
    std::lock_guard lock{mutex_};
    lost_.emplace_back(peer, reason);
    cv_.notify_all();
  }

  /// Waits (at most `limit`) until `n` frames arrived; returns them.
  std::vector<frame> wait_frames(size_t n, std::chrono::milliseconds limit = 20s) {
    std::unique_lock lock{mutex_};
    cv_.wait_for(lock, limit, [&] { return frames_.size() >= n; });
    return frames_;
  }

  template <class T>
  T with_lock(std::function<T(recording_handler&)> f) {
    std::lock_guard lock{mutex_};
    return f(*this);
  }

  size_t deliver_calls() {
    std::lock_guard lock{mutex_};
    return deliver_calls_;
  }
  uint64_t last_seq() {
    std::lock_guard lock{mutex_};
    return last_seq_;
  }
  /// The entries put for `checkpoint` (call under with_lock).
  std::vector<snapshot_entry_msg> snapshot(uint64_t checkpoint) const {
    auto it = snapshots_.find(checkpoint);
    return it == snapshots_.end() ? std::vector<snapshot_entry_msg>{} : it->second;
  }
  std::vector<std::pair<std::string, std::string>> lost() {
    std::lock_guard lock{mutex_};
    return lost_;
  }
  std::vector<std::string> peers() {
    std::lock_guard lock{mutex_};
    return peers_;
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<frame> frames_;
  std::vector<std::string> peers_;
  size_t deliver_calls_ = 0;
  uint64_t last_seq_ = 0;
  std::map<uint64_t, std::vector<snapshot_entry_msg>> snapshots_;
  std::vector<std::pair<std::string, std::string>> lost_;
};

inline server_options server_opts(std::string node = "n1") {
  server_options o;
  o.cluster = cluster_name;
  o.node = std::move(node);
  o.secret = secret;
  return o;
}

inline link_options link_opts(uint16_t port, std::string me = "n2") {
  link_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.cluster = cluster_name;
  o.my_node = std::move(me);
  o.secret = secret;
  o.connect_timeout = 3s;
  return o;
}

/// Polls `done` every 5 ms for at most `limit`.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace net_test
