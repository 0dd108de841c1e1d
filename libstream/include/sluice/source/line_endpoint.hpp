#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sluice/result.hpp"
#include "sluice/state/line_log.hpp"

/// The narrow interface between the replayable line source (network-free,
/// `tcp_lines.hpp`) and whatever receives its lines from outside the process.
/// libstream knows no sockets: the runtime installs a receiver factory
/// (`sluice::actors::io::tcp_line_server`, installed by `actors::execute`),
/// and the source asks this registry for the endpoint of its log directory.
namespace sluice::source {

/// Receives lines from outside the process and appends them to a
/// `state::line_log`, acknowledging each only once it is in the log. It runs
/// from creation until destruction (which stops it: no line is appended
/// afterwards); its own threads do the work. Implemented by the runtime.
class line_receiver {
public:
  /// Longest line a receiver accepts unless told otherwise.
  static constexpr size_t default_max_line = size_t{1} << 20;

  virtual ~line_receiver() = default;
  /// The port it listens on (the one bound, if asked for port 0).
  virtual uint16_t port() const noexcept = 0;
};

/// Starts a receiver appending to `log` that listens on `port` (0: an
/// ephemeral one) and refuses lines longer than `max_line` bytes.
using line_receiver_factory = std::function<result<std::unique_ptr<line_receiver>>(
    std::shared_ptr<state::line_log> log, uint16_t port, size_t max_line)>;

/// Makes `f` the factory of receivers in this process (replacing any
/// earlier one; an empty `f` removes it). The runtime calls it before it
/// runs a job; tests may install a fake. Endpoints already started keep
/// their receivers.
void install_line_receiver(line_receiver_factory f);

/// The log and receiver of a log directory, shared in this process by every
/// attempt of a job (a restarted source finds the receiver of the failed
/// attempt still listening on the same port: senders are not disconnected).
struct line_endpoint {
  std::shared_ptr<state::line_log> log;
  std::shared_ptr<line_receiver> receiver;
};

/// The endpoint of `log_dir`, opening the log and starting a receiver on
/// `port` (0: ephemeral) if there is none. Fails with `invalid_argument` if
/// a receiver for `log_dir` already listens on another non-zero `port`, with
/// `unavailable` if no receiver factory is installed, else with the errors
/// of the log and the factory. `max_line` applies to a receiver started by
/// this call. Any thread may call it.
result<line_endpoint> acquire_line_endpoint(const std::string& log_dir, uint16_t port,
                                            size_t max_line = line_receiver::default_max_line);

/// Forgets the endpoint of `log_dir`; its receiver stops once the last
/// holder lets it go. Sources call it when they read the end marker; a
/// program whose job failed for good may call it too. Unknown directories
/// are ignored.
void release_line_endpoint(const std::string& log_dir);

}  // namespace sluice::source
