#pragma once

// A capnp::MessageStream over a socket that remembers why its connection
// ended. The RPC system drops a connection silently when the peer sends bytes
// that are not a valid message (too large, too many segments) or an RPC
// message it cannot handle; the server must log that reason with the peer's
// address, so this decorator records the first read error, the end of file,
// and the Abort message the RPC system sends back before it hangs up.

#include <string>

#include <capnp/serialize-async.h>
#include <kj/async-io.h>

namespace sluice::net::detail {

class watched_stream final : public capnp::MessageStream {
public:
  explicit watched_stream(kj::Own<kj::AsyncIoStream> stream);

  /// Why the connection ended; empty while nothing went wrong.
  const std::string& reason() const noexcept { return reason_; }
  /// Records `why` unless an earlier reason is known (the first cause wins).
  void note(std::string why);

  kj::AsyncIoStream& socket() { return *stream_; }

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(
      kj::ArrayPtr<kj::AutoCloseFd> fd_space, capnp::ReaderOptions options,
      kj::ArrayPtr<capnp::word> scratch) override;
  kj::Promise<void> writeMessage(
      kj::ArrayPtr<const int> fds,
      kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) override;
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override;
  kj::Maybe<int> getSendBufferSize() override;
  kj::Promise<void> end() override;

private:
  void note_if_abort(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments);

  kj::Own<kj::AsyncIoStream> stream_;
  capnp::AsyncIoMessageStream inner_;
  std::string reason_;
};

/// The text of a KJ exception without file, line and stack trace.
std::string describe(const kj::Exception& e);

}  // namespace sluice::net::detail
