#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/result.hpp"
#include "sluice/source/parse.hpp"
#include "sluice/source/typed_source.hpp"

/// A replayable TCP line source. A TCP socket cannot be replayed, so what it
/// receives is first appended to a durable log (`line_log`, its own LMDB
/// environment) and only then acknowledged to the sender; the source reads
/// the log, and its checkpointed read position is a log sequence number.
/// After a failure the job re-reads from the log whatever it had not
/// checkpointed: every acknowledged line is delivered exactly once into
/// checkpointed state.
namespace sluice {

/// Durable append-only log of lines in its own LMDB environment (one
/// directory). Line `n` (1-based) is stored under the 8-byte big-endian key
/// `n`. Every `append` is one transaction, durable when it returns.
///
/// Opening the same directory twice in one process returns the same log.
/// Thread safety: every method may be called from any thread concurrently.
class line_log {
 public:
  static constexpr size_t default_map_size = size_t{64} << 20;

  /// Opens (creating the directory if needed) the log in `dir`. The memory
  /// map starts at `map_size` bytes and grows on demand.
  static result<std::shared_ptr<line_log>> open(std::string dir, size_t map_size = default_map_size);

  ~line_log();
  line_log(const line_log&) = delete;
  line_log& operator=(const line_log&) = delete;

  /// Appends `lines` in one transaction; returns the sequence number of the
  /// last line of the log afterwards (that of the last line appended).
  result<uint64_t> append(const std::vector<std::string>& lines);

  /// Appends up to `max` lines with sequence numbers >= `from_seq` (1-based)
  /// to `out`, in order; returns how many it appended (0: none yet).
  result<size_t> read(uint64_t from_seq, size_t max, std::vector<std::string>& out);

  /// Number of lines in the log (= sequence number of the last one).
  result<uint64_t> size();

  /// The directory, as given to `open`.
  const std::string& dir() const noexcept;

 private:
  struct impl;
  explicit line_log(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Accepts TCP connections on 127.0.0.1 and appends the newline-terminated
/// lines (LF or CRLF) they send to a `line_log`. After each received chunk's
/// complete lines are durably appended it replies "ok <seq>\n", `seq` being
/// the log sequence number of the last of them: a line is acknowledged only
/// once it is in the log. Input the server refuses (a line longer than
/// `max_line` bytes) or cannot store gets "error <reason>\n" and the
/// connection is closed; other connections are unaffected. A trailing
/// unterminated line at end of stream is not a line: it is dropped, unacked.
///
/// One thread serves the listening socket and every connection; `stop`
/// (also the destructor) wakes it, closes all sockets and joins it.
class tcp_line_server {
 public:
  static constexpr size_t default_max_line = size_t{1} << 20;
  static constexpr size_t max_connections = 256;

  /// Binds 127.0.0.1:`port` (0: an ephemeral port) and starts serving.
  static result<std::unique_ptr<tcp_line_server>> start(std::shared_ptr<line_log> log, uint16_t port = 0,
                                                        size_t max_line = default_max_line);

  ~tcp_line_server();
  tcp_line_server(const tcp_line_server&) = delete;
  tcp_line_server& operator=(const tcp_line_server&) = delete;

  /// The bound port.
  uint16_t port() const noexcept;
  /// Stops serving; idempotent.
  void stop();

  /// Connections accepted and connections closed for an error, so far.
  uint64_t connections_accepted() const noexcept;
  uint64_t connections_rejected() const noexcept;

  const std::shared_ptr<line_log>& log() const noexcept;

 private:
  struct impl;
  explicit tcp_line_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The log and server of a log directory, shared in this process by every
/// attempt of a job (a restarted source finds the server of the failed
/// attempt still listening on the same port: senders are not disconnected).
struct tcp_line_endpoint {
  std::shared_ptr<line_log> log;
  std::shared_ptr<tcp_line_server> server;
};

/// The endpoint of `log_dir`, opening the log and starting a server on
/// `port` (0: ephemeral) if there is none. Fails with `invalid_argument` if
/// a server for `log_dir` already listens on another non-zero `port`.
/// `max_line` applies to a server started by this call.
result<tcp_line_endpoint> acquire_tcp_line_endpoint(const std::string& log_dir, uint16_t port,
                                                    size_t max_line = tcp_line_server::default_max_line);

/// Forgets the endpoint of `log_dir`; its server stops once the last holder
/// lets it go. Sources call it when they read the end marker; a program
/// whose job failed for good may call it too. Unknown directories are ignored.
void release_tcp_line_endpoint(const std::string& log_dir);

/// Options of `tcp_line_source`.
struct tcp_lines_options {
  /// A line equal to it ends the stream.
  std::string end_marker = "__END__";
  /// Longest accepted line.
  size_t max_line = tcp_line_server::default_max_line;
};

/// Reads lines received over TCP (through the log in `log_dir`) and turns
/// each into a record with `parse(std::string_view line) -> parsed<T>`; a line
/// that fails to parse (or throws a std::exception) becomes a dead letter at
/// position "tcp:<seq>". Runs at parallelism 1: instances other than 0 end at
/// once. The end marker is logged like any line (so a replay ends too);
/// lines logged after it are kept but never read. Its checkpointed position is the sequence number of the last line
/// read; a restore re-reads the log from there.
template <class T, class Parse>
class tcp_line_source final : public typed_source<T> {
 public:
  tcp_line_source(std::string log_dir, uint16_t port, Parse parse,
                  std::shared_ptr<std::atomic<uint16_t>> bound_port = nullptr, tcp_lines_options opts = {})
      : dir_(std::move(log_dir)),
        port_(port),
        parse_(std::move(parse)),
        bound_port_(std::move(bound_port)),
        opts_(std::move(opts)) {}

  void open(operator_context& ctx) override {
    typed_source<T>::open(ctx);
    active_ = ctx.instance() == 0;
    if (!active_) return;
    auto ep = acquire_tcp_line_endpoint(dir_, port_, opts_.max_line);
    if (!ep) throw std::runtime_error("tcp source: " + to_string(ep.error()));
    endpoint_ = std::move(ep).value();
    if (bound_port_) bound_port_->store(endpoint_.server->port());
  }

  poll_status poll(size_t max_records) override {
    if (!active_ || ended_) return poll_status::end;
    batch_.clear();
    auto n = endpoint_.log->read(seq_ + 1, std::max<size_t>(max_records, 1), batch_);
    if (!n) throw std::runtime_error("tcp source: " + to_string(n.error()));
    if (batch_.empty()) return poll_status::idle;
    for (auto& line : batch_) {
      const uint64_t seq = ++seq_;
      if (line == opts_.end_marker) {
        ended_ = true;
        release_tcp_line_endpoint(dir_);
        return poll_status::end;
      }
      handle(seq, line);
    }
    return poll_status::more;
  }

  /// Sequence number of the last line read.
  uint64_t position() const noexcept { return seq_; }

 protected:
  void snapshot_position(state::writer& w) override { state::encode(w, seq_); }
  void restore_position(state::reader& r) override {
    state::decode(r, seq_);
    ended_ = false;
    if (!active_) return;
    auto size = endpoint_.log->size();
    if (!size) throw std::runtime_error("tcp source: " + to_string(size.error()));
    if (size.value() < seq_)
      throw std::runtime_error("tcp source: the checkpoint position is line " + std::to_string(seq_) + " but the log in '" +
                               dir_ + "' holds only " + std::to_string(size.value()) + " lines");
  }

 private:
  void handle(uint64_t seq, std::string& line) {
    this->emit_or_reject([&]() -> parsed<T> { return std::invoke(parse_, std::string_view{line}); },
                         [seq] { return "tcp:" + std::to_string(seq); }, line);
  }

  std::string dir_;
  uint16_t port_;
  Parse parse_;
  std::shared_ptr<std::atomic<uint16_t>> bound_port_;
  tcp_lines_options opts_;
  tcp_line_endpoint endpoint_;
  std::vector<std::string> batch_;
  uint64_t seq_ = 0;
  bool active_ = false;
  bool ended_ = false;
};

}  // namespace sluice

#include "sluice/pipeline.hpp"

namespace sluice {

/// The source behind `pipeline::read_tcp_lines` (which calls it).
template <class Parse>
auto add_tcp_line_source(pipeline& p, std::string log_dir, uint16_t port, Parse parse,
                         std::shared_ptr<std::atomic<uint16_t>> bound_port = nullptr,
                         tcp_lines_options opts = {}) {
  using R = detail::parse_result<Parse, std::string_view>;
  static_assert(R::invocable, "read_tcp_lines: parse must be callable as parse(std::string_view)");
  static_assert(R::returns_value,
                "read_tcp_lines: parse must return T, or sluice::parsed<T> to reject a line "
                "(parsed<T>::fail(reason)); it returns void");
  using T = typename R::type;
  auto s = p.add_source<T>("tcp_source", [log_dir = std::move(log_dir), port, parse = std::move(parse),
                                          bound_port = std::move(bound_port), opts = std::move(opts)] {
    return std::make_unique<tcp_line_source<T, Parse>>(log_dir, port, parse, bound_port, opts);
  });
  s.parallelism(1);
  return s;
}

}  // namespace sluice
