#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "sluice/result.hpp"
#include "sluice/source/line_endpoint.hpp"
#include "sluice/state/line_log.hpp"

namespace sluice::actors::io {

/// The socket side of the TCP line source: accepts TCP connections on
/// 127.0.0.1 and appends the newline-terminated lines (LF or CRLF) they send
/// to a `state::line_log`. After each received chunk's complete lines are
/// durably appended it replies "ok <seq>\n", `seq` being the log sequence
/// number of the last of them: a line is acknowledged only once it is in the
/// log. Input the server refuses (a line longer than `max_line` bytes) or
/// cannot store gets "error <reason>\n" and the connection is closed; other
/// connections are unaffected. A trailing unterminated line at end of stream
/// is not a line: it is dropped, unacked.
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
  static constexpr size_t max_connections = 256;

  /// Binds 127.0.0.1:`port` (0: an ephemeral port) and starts serving.
  /// Fails with `invalid_argument` for no log or a zero `max_line`, with
  /// `io_error` if a socket call fails (the message names the address).
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

  /// Connections accepted and connections closed for an error, so far.
  uint64_t connections_accepted() const noexcept;
  uint64_t connections_rejected() const noexcept;

  const std::shared_ptr<state::line_log>& log() const noexcept;

private:
  struct impl;
  explicit tcp_line_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Makes `tcp_line_server` the line receiver of this process
/// (`source::install_line_receiver`): `prepare_process`, hence `execute`,
/// calls it, so that `read_tcp_lines` works in every job. Idempotent.
void install_tcp_line_server();

}  // namespace sluice::actors::io
