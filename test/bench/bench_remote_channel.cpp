// Benchmark `remote_channel`: batches of small records from one node to
// another over loopback TCP.
//
//   (a) baseline: a plain Cap'n Proto client/server, one method
//       `push(data :Data)`, `in_flight` calls outstanding, the server copying
//       each blob out of the message (as any receiver handing it on must);
//   (b) sluice: peer_link::send -> node_server -> handler, the same blobs as
//       batch frames, with a credit-like window at the sender:
//       - remote_channel: 4 x in_flight batches of credit, so batches sent
//         while all calls are out are coalesced into the next call (what a
//         remote channel does under load);
//       - remote_channel_low_credit: credit = in_flight, so less is waiting
//         to be coalesced and calls carry fewer batches (see deliver_calls
//         in the BENCH-DETAIL line; the baseline sends one blob per call).
//
// Both run in the same process right after each other, each side on its own
// event-loop thread. The machine has 2 cores: (b) also has the sending
// thread (the task actor's role), so three threads share them.
//
//   bench_remote_channel [--blobs N] [--records R] [--record-bytes B]
//                        [--in-flight F] [--repeat K]
//
// Prints one line per repetition, like the other benchmarks:
//   BENCH name=remote_channel events=<records> seconds=<s> events_per_s=<x>
//         baseline_events_per_s=<y> ratio=<x/y> results=<records received>
// Figures only: timings are never asserted. Exits 1 if a run lost records.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>

#include <sys/resource.h>

#include <capnp/rpc-twoparty.h>
#include <spdlog/spdlog.h>

#include "sluice/net/node_service.hpp"

namespace {

using namespace sluice::net;
using clock_type = std::chrono::steady_clock;

struct options {
  uint64_t blobs = 20'000;
  uint32_t records = 1024;
  uint32_t record_bytes = 16;
  uint32_t in_flight = 8;
  uint32_t repeat = 3;
};

[[noreturn]] void usage(const char* prog, const char* error) {
  if (error)
    std::fprintf(stderr, "%s: %s\n", prog, error);
  std::fprintf(
      stderr,
      "usage: %s [--blobs N] [--records R] [--record-bytes B] [--in-flight F] [--repeat K]\n"
      "  defaults: 20000 blobs of 1024 records of 16 bytes, 8 calls in flight, 3 repetitions\n",
      prog);
  std::exit(error ? 2 : 0);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h")
      usage(argv[0], nullptr);
    if (i + 1 >= argc)
      usage(argv[0], (a + " needs a value").c_str());
    char* end = nullptr;
    const unsigned long long v = std::strtoull(argv[++i], &end, 10);
    if (*end || v == 0)
      usage(argv[0], (a + ": expected a positive integer").c_str());
    if (a == "--blobs")
      o.blobs = v;
    else if (a == "--records")
      o.records = static_cast<uint32_t>(v);
    else if (a == "--record-bytes")
      o.record_bytes = static_cast<uint32_t>(v);
    else if (a == "--in-flight")
      o.in_flight = static_cast<uint32_t>(v);
    else if (a == "--repeat")
      o.repeat = static_cast<uint32_t>(v);
    else
      usage(argv[0], ("unknown argument: " + a).c_str());
  }
  return o;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// CPU time (user + system) of the whole process so far, all threads.
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

std::string load_average() {
  std::ifstream f{"/proc/loadavg"};
  std::string x;
  f >> x;
  return x.empty() ? "?" : x;
}

// -- (a) plain Cap'n Proto ------------------------------------------------------

constexpr uint64_t push_interface_id = 0xb3a1f0c2d4e5f607ull;

/// The whole `push(data :Data)` interface, dispatched by hand: params are the
/// Data blob itself, no generated code needed.
class push_server final : public capnp::Capability::Server {
public:
  explicit push_server(std::atomic<uint64_t>& bytes) : bytes_(bytes) {}

  DispatchCallResult dispatchCall(
      uint64_t interface_id, uint16_t method,
      capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) override {
    if (interface_id != push_interface_id || method != 0)
      return {kj::Promise<void>(KJ_EXCEPTION(UNIMPLEMENTED, "only push() is implemented")), false};
    auto data = context.getParams().getAs<capnp::Data>();
    std::string copy(reinterpret_cast<const char*>(data.begin()), data.size());
    bytes_ += copy.size();
    return {kj::READY_NOW, false};
  }

private:
  std::atomic<uint64_t>& bytes_;
};

/// Client side of (a), on its loop: keeps `in_flight` pushes outstanding.
struct push_client {
  kj::Own<kj::AsyncIoStream> socket;
  capnp::TwoPartyClient rpc;
  capnp::Capability::Client server;
  const std::string& blob;
  uint64_t remaining;

  push_client(kj::Own<kj::AsyncIoStream> s, const std::string& b, uint64_t n)
      : socket(kj::mv(s)), rpc(*socket), server(rpc.bootstrap()), blob(b), remaining(n) {}

  kj::Promise<void> lane() {
    if (remaining == 0)
      return kj::READY_NOW;
    --remaining;
    auto req =
        server.typelessRequest(push_interface_id, 0, capnp::MessageSize{blob.size() / 8 + 8, 0});
    auto data = req.initAs<capnp::Data>(static_cast<unsigned>(blob.size()));
    std::memcpy(data.begin(), blob.data(), blob.size());
    return req.send().then([this](auto&&) { return lane(); });
  }
};

double run_baseline(const options& o, const std::string& blob, uint64_t& received_records) {
  event_loop server_loop, client_loop;
  std::atomic<uint64_t> bytes{0};
  kj::Own<capnp::TwoPartyServer> server;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::Promise<void> listening = nullptr;
  const auto port = server_loop.call([&] {
    return server_loop.io()
        .provider->getNetwork()
        .parseAddress("127.0.0.1", 0)
        .then([&](kj::Own<kj::NetworkAddress> a) {
          listener = a->listen();
          server = kj::heap<capnp::TwoPartyServer>(kj::heap<push_server>(bytes));
          listening = server->listen(*listener);
          return static_cast<uint16_t>(listener->getPort());
        });
  });
  kj::Own<push_client> client;
  client_loop.call([&] {
    return client_loop.io()
        .provider->getNetwork()
        .parseAddress("127.0.0.1", port)
        .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); })
        .then([&](kj::Own<kj::AsyncIoStream> s) {
          client = kj::heap<push_client>(kj::mv(s), blob, o.blobs);
        });
  });
  const auto t0 = clock_type::now();
  client_loop.call([&] {
    auto lanes = kj::heapArrayBuilder<kj::Promise<void>>(o.in_flight);
    for (uint32_t i = 0; i < o.in_flight; ++i)
      lanes.add(client->lane());
    return kj::joinPromises(lanes.finish());
  });
  const double s = seconds_since(t0);
  received_records = bytes.load() / o.record_bytes;
  client_loop.call([&] { client = nullptr; });
  server_loop.call([&] {
    listening = nullptr;
    server = nullptr;
    listener = nullptr;
  });
  return s;
}

// -- (b) Sluice's node service ----------------------------------------------------

/// Counts bytes and batches, and wakes the sender as batches arrive (the
/// credits a remote input channel would return).
class counting_handler final : public handler {
public:
  void on_frames(const std::string&, std::vector<frame>&& frames) override {
    uint64_t b = 0;
    for (auto& f : frames)
      if (auto* batch = std::get_if<batch_body>(&f.body)) {
        bytes += batch->data.size();
        ++b;
      }
    ++calls;
    {
      std::lock_guard lock{mutex};
      batches += b;
    }
    cv.notify_one();
  }
  control on_control(const std::string&, control&&) override { return ok_msg{}; }
  void on_put_snapshot(const std::string&, uint64_t, std::vector<snapshot_entry_msg>&&) override {}

  /// Blocks until at most `window` of `sent` batches are outstanding.
  void wait_until(uint64_t sent, uint64_t window) {
    std::unique_lock lock{mutex};
    cv.wait(lock, [&] { return batches + window >= sent; });
  }

  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> calls{0};  ///< deliver calls: blobs / calls = batches coalesced per call

private:
  std::mutex mutex;
  std::condition_variable cv;
  uint64_t batches = 0;
};

double run_sluice(const options& o, const std::string& blob, uint64_t window,
                  uint64_t& received_records, uint64_t& calls) {
  const std::string secret = "bench-secret-0123456789";
  event_loop server_loop, client_loop;
  counting_handler h;
  node_server server{server_loop, "127.0.0.1", 0, server_options{"bench", "n1", secret}, h};
  link_options lo;
  lo.host = "127.0.0.1";
  lo.port = server.port();
  lo.cluster = "bench";
  lo.my_node = "n2";
  lo.secret = secret;
  lo.max_in_flight = o.in_flight;
  peer_link link{client_loop, lo, [](std::string why) {
                   std::fprintf(stderr, "link broken: %s\n", why.c_str());
                 }};
  link.connect();
  const auto t0 = clock_type::now();
  for (uint64_t i = 0; i < o.blobs; ++i) {
    std::vector<frame> frames;
    frames.push_back(frame{{1, 0}, {0, 0}, 1, batch_body{0, o.records, blob}});
    link.send(std::move(frames));
    h.wait_until(i + 1, window);
  }
  h.wait_until(o.blobs, 0);
  const double s = seconds_since(t0);
  // Count records by the bytes that arrived, as the baseline does.
  received_records = h.bytes.load() / o.record_bytes;
  calls = h.calls.load();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  std::string blob(static_cast<size_t>(o.records) * o.record_bytes, '\0');
  for (size_t i = 0; i < blob.size(); ++i)
    blob[i] = static_cast<char>('a' + i % 26);
  const uint64_t records = o.blobs * o.records;
  int failed = 0;
  const std::pair<const char*, uint64_t> cases[] = {{"remote_channel", 4ull * o.in_flight},
                                                    {"remote_channel_low_credit", o.in_flight}};
  for (uint32_t rep = 0; rep < o.repeat; ++rep) {
    for (const auto& [name, window] : cases) {
      const std::string load = load_average();
      uint64_t base_got = 0, got = 0, calls = 0;
      double c0 = process_cpu_seconds();
      const double base_s = run_baseline(o, blob, base_got);
      const double base_cpu = process_cpu_seconds() - c0;
      c0 = process_cpu_seconds();
      const double s = run_sluice(o, blob, window, got, calls);
      const double cpu = process_cpu_seconds() - c0;
      if (base_got != records || got != records) {
        std::fprintf(
            stderr, "BENCH-ERROR name=%s: records sent %llu, baseline received %llu, sluice %llu\n",
            name, static_cast<unsigned long long>(records),
            static_cast<unsigned long long>(base_got), static_cast<unsigned long long>(got));
        ++failed;
        continue;
      }
      const double eps = static_cast<double>(records) / s;
      const double base_eps = static_cast<double>(records) / base_s;
      std::printf(
          "BENCH name=%s events=%llu seconds=%.3f events_per_s=%.0f baseline_events_per_s=%.0f "
          "ratio=%.3f results=%llu\n",
          name, static_cast<unsigned long long>(records), s, eps, base_eps, eps / base_eps,
          static_cast<unsigned long long>(got));
      std::fflush(stdout);
      std::fprintf(stderr,
                   "BENCH-DETAIL name=%s baseline_seconds=%.3f baseline_cpu_s=%.3f "
                   "sluice_cpu_s=%.3f blob_bytes=%zu "
                   "in_flight=%u credit=%llu deliver_calls=%llu loadavg_before=%s\n",
                   name, base_s, base_cpu, cpu, blob.size(), o.in_flight,
                   static_cast<unsigned long long>(window), static_cast<unsigned long long>(calls),
                   load.c_str());
    }
  }
  return failed ? 1 : 0;
}
