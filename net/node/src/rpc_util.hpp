#pragma once

// Small helpers shared by the server and the link: errors that cross the RPC
// boundary as plain text, and milliseconds as KJ durations.

#include <chrono>
#include <string>

#include <kj/async.h>
#include <kj/exception.h>
#include <kj/time.h>

namespace sluice::net::detail {

/// A KJ exception whose description is exactly `text` (what the peer sees,
/// after "remote exception: ").
inline kj::Exception rpc_error(const std::string& text,
                               kj::Exception::Type type = kj::Exception::Type::FAILED) {
  return kj::Exception(type, __FILE__, __LINE__, kj::heapString(text.data(), text.size()));
}

inline kj::Duration to_kj(std::chrono::milliseconds ms) {
  return static_cast<int64_t>(ms.count()) * kj::MILLISECONDS;
}

}  // namespace sluice::net::detail
