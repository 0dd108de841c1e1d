#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "sluice/result.hpp"
#include "sluice/source/line_endpoint.hpp"
#include "sluice/state/line_log.hpp"

namespace sluice::actors::io {

/// Settings of a `tcp_line_server` (the runtime fills them from its
/// `--tcp-*` options).
struct tcp_server_options {
  /// Address to listen on: an IPv4 or IPv6 literal; "0.0.0.0" or "::" for
  /// every interface. Loopback by default, so only this host can send.
  std::string host = "127.0.0.1";
  /// Longest line accepted, in bytes (without the LF or CRLF).
  size_t max_line = source::line_receiver::default_max_line;
  /// Open connections at most, over all clients.
  uint32_t max_connections = 256;
  /// Open connections at most from one client address.
  uint32_t max_connections_per_address = 16;
  /// A connection that sends nothing for this long is told so and closed
  /// (0: never).
  std::chrono::milliseconds idle_timeout{60'000};
  /// Connections accepted per turn of the server loop: between two turns
  /// every open connection is served, so a flood of new connections cannot
  /// starve the clients already connected.
  uint32_t accept_batch = 16;
};

/// The socket side of the TCP line source: accepts TCP connections and
/// appends the newline-terminated lines (LF or CRLF) they send to a
/// `state::line_log`. The protocol is in docs/tcp-ingestion.md:
///
/// - Each line of a connection has a number. A plain client's lines are
///   numbered 1, 2, ... per connection. An idempotent sender opens with the
///   line `hello <sender> <next_seq>`: the server answers
///   `resume <seq>` (the first number of `sender` the log does not hold) and
///   numbers the connection's lines from `next_seq`; lines at or below the
///   sender's high-water mark are dropped (the log has them), so a sender
///   that resends lines whose acknowledgement it lost duplicates nothing.
/// - After the complete lines of each received chunk are durably in the log
///   the server replies `ok <first>-<last>`: the numbers of this
///   connection's lines that it covers (dropped duplicates included). A line
///   is acknowledged only once it is in the log.
/// - Input the server refuses (a line longer than `max_line`) or cannot
///   store, an idle connection, a client over a connection limit get
///   `error <reason>` and the connection is closed; other connections are
///   unaffected. A trailing unterminated line at end of stream is not a
///   line: it is dropped, unacknowledged.
///
/// Lifecycle: `start` binds and starts one thread that serves the listening
/// socket and every connection; `stop` (also the destructor) wakes it,
/// closes all sockets and joins it. Plain sockets, no CAF: the runtime
/// installs it as the process's `source::line_receiver`
/// (`install_tcp_line_server`), so jobs reach it through
/// `source::acquire_line_endpoint`. Thread safety: every method may be
/// called from any thread.
class tcp_line_server final : public source::line_receiver {
public:
  static constexpr size_t default_max_line = line_receiver::default_max_line;

  /// Binds `opts.host`:`port` (0: an ephemeral port) and starts serving.
  /// Fails with `invalid_argument` for no log, a zero `max_line` or limit,
  /// or a host that is not an address, with `io_error` if a socket call
  /// fails (the message names the address).
  static result<std::unique_ptr<tcp_line_server>> start(std::shared_ptr<state::line_log> log,
                                                        uint16_t port, tcp_server_options opts);
  /// Same, on 127.0.0.1 with the default limits and lines of at most `max_line` bytes.
  static result<std::unique_ptr<tcp_line_server>> start(std::shared_ptr<state::line_log> log,
                                                        uint16_t port = 0,
                                                        size_t max_line = default_max_line);

  ~tcp_line_server() override;
  tcp_line_server(const tcp_line_server&) = delete;
  tcp_line_server& operator=(const tcp_line_server&) = delete;

  /// The bound port.
  uint16_t port() const noexcept override;
  /// Stops serving; idempotent.
  void stop();

  /// Connections accepted (also those refused at once for a limit),
  /// connections closed for an error (a refused line, an idle timeout, a
  /// limit), and those of them refused for a limit, so far.
  uint64_t connections_accepted() const noexcept;
  uint64_t connections_rejected() const noexcept;
  uint64_t connections_over_limit() const noexcept;
  /// Lines dropped because the log already held them (idempotent senders).
  uint64_t duplicates_dropped() const noexcept;

  const std::shared_ptr<state::line_log>& log() const noexcept;

private:
  struct impl;
  explicit tcp_line_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Makes `tcp_line_server` the line receiver of this process
/// (`source::install_line_receiver`), with `opts` (its `max_line` is the
/// source's): `prepare_process`, hence `execute`, calls it with the run's
/// `--tcp-*` options, so that `read_tcp_lines` works in every job. Servers
/// already running keep their settings.
void install_tcp_line_server(tcp_server_options opts = {});

}  // namespace sluice::actors::io
