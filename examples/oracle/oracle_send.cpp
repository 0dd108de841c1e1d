// The client of `oracle-tcp`: idempotent senders (docs/tcp-ingestion.md)
// that send the oracle's sequence as `<key>,<seq>` lines and lose
// acknowledgements on purpose, while scripts/fault-inject.sh --job tcp kills
// the job under them.
//
//   oracle-send --port P --count N --keys K [--senders S] [--bad-every M]
//               [--garbage-bytes B] [--rate R] [--drop-ack PCT]
//               [--disconnect PCT] [--seed X] [--timeout-s T] [--host H]
//
// Sender s (`oracle-<s>`) sends the records whose key % S == s, in order, and
// after every M-th of them a malformed line `bad <s> <n>`; with
// --garbage-bytes, sender `garbage` sends that many random bytes as lines
// that all start with '~' (so that none parses). Each connection opens with
// `hello <sender> <next_seq>` and resends everything not yet acknowledged.
// At random a sender hangs up right after a chunk without reading its ack
// (--drop-ack) or in the middle of a line (--disconnect); a connection that
// breaks (the job was killed) is opened again, every 100 ms until the
// timeout. Once every sender is acknowledged, the end marker `__END__` goes
// out on a plain connection.
//
// Last line: `senders=<S> lines=<n> bad=<n> garbage=<n> reconnects=<n>
// resent=<n>`. Exit 0 when everything was acknowledged, 1 when the server
// lost acknowledged lines (its `resume` went back) or answered nonsense, or
// on timeout, 2 on bad usage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sluice/testing/oracle.hpp"

namespace {

using steady = std::chrono::steady_clock;

struct settings {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  double rate = 0;         ///< lines per second per sender (0: as fast as acks come)
  unsigned drop_ack = 10;  ///< percent of chunks whose ack is dropped
  unsigned disconnect = 3;
  steady::time_point deadline;
};

/// A blocking connection with receive and send timeouts.
class connection {
public:
  explicit connection(const settings& s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(s.port);
    ::inet_pton(AF_INET, s.host.c_str(), &addr.sin_addr);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~connection() { ::close(fd_); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  bool ok() const { return ok_; }
  bool send_all(std::string_view data) {
    while (ok_ && !data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        ok_ = false;
      else
        data.remove_prefix(static_cast<size_t>(n));
    }
    return ok_;
  }
  /// The next reply line; "" when the connection broke or timed out.
  std::string read_line() {
    while (ok_) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      char tmp[4096];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0)
        ok_ = false;
      else
        buf_.append(tmp, static_cast<size_t>(n));
    }
    return {};
  }

private:
  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

/// `<word> <number>` (resume) or `ok <first>-<last>`.
bool parse_number(std::string_view s, uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

struct sender {
  std::string name;
  std::vector<std::string> lines;  ///< line n (1-based) is lines[n - 1]
  uint64_t acked = 0;
  uint64_t reconnects = 0, resent = 0;
  std::string problem;  ///< set: the server broke the protocol or lost lines

  /// Sends every line until all are acknowledged or the deadline passes.
  void run(const settings& s, uint32_t seed) {
    std::mt19937 rnd{seed};
    auto percent = [&](unsigned p) {
      return std::uniform_int_distribution<unsigned>(0, 99)(rnd) < p;
    };
    const uint64_t total = lines.size();
    const auto t0 = steady::now();
    for (bool first = true; acked < total && problem.empty(); first = false) {
      if (steady::now() > s.deadline) {
        problem = fmt::format("timed out with {} of {} lines acknowledged", acked, total);
        return;
      }
      if (!first) {
        ++reconnects;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      connection c{s};
      if (!c.ok() || !c.send_all(fmt::format("hello {} {}\n", name, acked + 1)))
        continue;
      const std::string resume = c.read_line();
      if (resume.empty())
        continue;  // the server went away
      uint64_t r = 0;
      if (resume.rfind("resume ", 0) != 0 || !parse_number(std::string_view{resume}.substr(7), r)) {
        problem = fmt::format("answer to hello: '{}'", resume);
        return;
      }
      if (r < acked + 1) {
        problem =
            fmt::format("the log lost acknowledged lines: {} acknowledged, resume at {}", acked, r);
        return;
      }
      // Resend from the oldest unacknowledged line: what the log has is
      // dropped there (counted as resent).
      uint64_t sent = acked;
      while (sent < total && c.ok()) {
        const uint64_t n =
            std::min<uint64_t>(total - sent, std::uniform_int_distribution<uint64_t>(1, 200)(rnd));
        std::string msg;
        for (uint64_t i = sent; i < sent + n; ++i) {
          msg += lines[i];
          msg += '\n';
        }
        if (percent(s.disconnect)) {
          c.send_all(std::string_view{msg}.substr(0, msg.size() / 2 + 1));
          break;  // hang up in the middle of a line: that line is no line
        }
        if (!c.send_all(msg))
          break;
        if (sent + 1 < r)
          resent += std::min(sent + n, r - 1) - sent;
        sent += n;
        if (percent(s.drop_ack))
          break;  // hang up without reading the ack
        const std::string reply = c.read_line();
        if (reply.empty())
          break;
        const auto dash = reply.find('-');
        uint64_t a = 0, b = 0;
        if (reply.rfind("ok ", 0) != 0 || dash == std::string::npos ||
            !parse_number(std::string_view{reply}.substr(3, dash - 3), a) ||
            !parse_number(std::string_view{reply}.substr(dash + 1), b) || a != acked + 1 ||
            b != sent) {
          problem = fmt::format("ack '{}' where ok {}-{} was due", reply, acked + 1, sent);
          return;
        }
        acked = b;
        if (s.rate > 0) {
          const auto due = t0 + std::chrono::duration_cast<steady::duration>(
                                    std::chrono::duration<double>(acked / s.rate));
          std::this_thread::sleep_until(std::min(due, s.deadline));
        }
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  settings s;
  uint64_t count = 0, garbage_bytes = 0, bad_every = 0;
  uint32_t keys = 16, senders = 2, seed = 1;
  int64_t timeout_s = 120;
  CLI::App app{"Idempotent TCP senders of the oracle sequence that drop acks on purpose"};
  app.add_option("--host", s.host, "address of the job's TCP source")->capture_default_str();
  app.add_option("--port", s.port, "port of the job's TCP source")->required();
  app.add_option("--count", count, "records of the sequence")->required();
  app.add_option("--keys", keys, "distinct keys")->check(CLI::Range(1u, 1u << 24));
  app.add_option("--senders", senders, "senders (threads, one connection each)")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--bad-every", bad_every, "a malformed line after every M records (0: none)");
  app.add_option("--garbage-bytes", garbage_bytes, "random bytes sent as lines by one more sender");
  app.add_option("--rate", s.rate, "lines per second per sender (0 = unlimited)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--drop-ack", s.drop_ack, "percent of chunks whose ack is not read")
      ->check(CLI::Range(0u, 100u));
  app.add_option("--disconnect", s.disconnect, "percent of chunks cut in the middle of a line")
      ->check(CLI::Range(0u, 100u));
  app.add_option("--seed", seed, "random seed");
  app.add_option("--timeout-s", timeout_s, "give up after this long")->check(CLI::Range(1, 86400));
  CLI11_PARSE(app, argc, argv);
  if (senders > keys) {
    std::fprintf(stderr, "oracle-send: --senders must not exceed --keys\n");
    return 2;
  }
  s.deadline = steady::now() + std::chrono::seconds(timeout_s);

  std::vector<sender> all(senders);
  uint64_t bad = 0;
  for (uint32_t k = 0; k < senders; ++k)
    all[k].name = fmt::format("oracle-{}", k);
  for (uint64_t i = 0; i < count; ++i) {
    const auto r = sluice::testing::sequence_record(i, keys);
    auto& to = all[r.key % senders];
    to.lines.push_back(fmt::format("{},{}", r.key, r.seq));
  }
  if (bad_every > 0)
    for (uint32_t k = 0; k < senders; ++k) {
      std::vector<std::string> with_bad;
      uint64_t n = 0;
      for (auto& l : all[k].lines) {
        with_bad.push_back(std::move(l));
        if (++n % bad_every == 0) {
          with_bad.push_back(fmt::format("bad {} {}", k, n / bad_every));
          ++bad;
        }
      }
      all[k].lines = std::move(with_bad);
    }
  uint64_t garbage = 0;
  if (garbage_bytes > 0) {
    sender g;
    g.name = "garbage";
    std::mt19937 rnd{seed * 7919u + 1u};
    std::uniform_int_distribution<int> byte(0, 255);
    std::string line = "~";
    for (uint64_t b = 0; b < garbage_bytes; ++b) {
      const char c = static_cast<char>(byte(rnd));
      if (c != '\n') {
        line += c;
        continue;
      }
      g.lines.push_back(std::exchange(line, "~"));
    }
    g.lines.push_back(line);
    garbage = g.lines.size();
    all.push_back(std::move(g));
  }

  std::vector<std::thread> threads;
  for (size_t k = 0; k < all.size(); ++k)
    threads.emplace_back([&, k] { all[k].run(s, seed * 1000u + static_cast<uint32_t>(k)); });
  for (auto& t : threads)
    t.join();
  bool ok = true;
  uint64_t lines = 0, reconnects = 0, resent = 0;
  for (auto& x : all) {
    lines += x.lines.size();
    reconnects += x.reconnects;
    resent += x.resent;
    if (!x.problem.empty()) {
      std::fprintf(stderr, "oracle-send: sender %s: %s\n", x.name.c_str(), x.problem.c_str());
      ok = false;
    }
  }
  // The end marker, once everything is in the log.
  bool ended = !ok;
  while (!ended && steady::now() < s.deadline) {
    connection c{s};
    if (c.ok() && c.send_all("__END__\n") && c.read_line().rfind("ok ", 0) == 0) {
      ended = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (ok && !ended) {
    std::fprintf(stderr, "oracle-send: the end marker was not acknowledged before the timeout\n");
    ok = false;
  }
  std::printf("senders=%u lines=%llu bad=%llu garbage=%llu reconnects=%llu resent=%llu\n", senders,
              static_cast<unsigned long long>(lines), static_cast<unsigned long long>(bad),
              static_cast<unsigned long long>(garbage), static_cast<unsigned long long>(reconnects),
              static_cast<unsigned long long>(resent));
  return ok ? 0 : 1;
}
