#include "watched_stream.hpp"

#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>

namespace sluice::net::detail {

std::string describe(const kj::Exception& e) {
  auto d = e.getDescription();
  return {d.cStr(), d.size()};
}

watched_stream::watched_stream(kj::Own<kj::AsyncIoStream> stream)
    : stream_(kj::mv(stream)), inner_(*stream_) {}

void watched_stream::note(std::string why) {
  if (reason_.empty())
    reason_ = std::move(why);
}

kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> watched_stream::tryReadMessage(
    kj::ArrayPtr<kj::AutoCloseFd> fd_space, capnp::ReaderOptions options,
    kj::ArrayPtr<capnp::word> scratch) {
  using result = kj::Maybe<capnp::MessageReaderAndFds>;
  return inner_.tryReadMessage(fd_space, options, scratch)
      .then(
          [this](result&& m) -> kj::Promise<result> {
            if (m == nullptr)
              note("peer closed the connection");
            return kj::mv(m);
          },
          [this](kj::Exception&& e) -> kj::Promise<result> {
            note("unreadable message: " + describe(e));
            return kj::mv(e);
          });
}

void watched_stream::note_if_abort(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
  // Only the rare Abort is of interest; reading the root's union tag of an
  // outgoing message we built ourselves costs next to nothing.
  capnp::SegmentArrayMessageReader reader(segments);
  auto msg = reader.getRoot<capnp::rpc::Message>();
  if (msg.isAbort()) {
    auto reason = msg.getAbort().getReason();
    note("protocol violation: " + std::string(reason.cStr(), reason.size()));
  }
}

kj::Promise<void> watched_stream::writeMessage(
    kj::ArrayPtr<const int> fds, kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
  note_if_abort(segments);
  return inner_.writeMessage(fds, segments);
}

kj::Promise<void> watched_stream::writeMessages(
    kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) {
  for (auto& m : messages)
    note_if_abort(m);
  return inner_.writeMessages(messages);
}

kj::Maybe<int> watched_stream::getSendBufferSize() {
  return inner_.getSendBufferSize();
}

kj::Promise<void> watched_stream::end() {
  return inner_.end();
}

}  // namespace sluice::net::detail
