#pragma once

// Conversion between the plain C++ messages (frame.hpp, control.hpp) and their
// Cap'n Proto form. Decoding validates: a union member that is not set or not
// known, a missing pointer field or a value out of range throws
// net::protocol_error naming the field ("frames[3].credit.n: ..."). Reading a
// malformed message through the capnp accessors may also throw kj::Exception;
// callers on the RPC path let both become the call's error.

#include <cstddef>
#include <string>
#include <vector>

#include "sluice.capnp.h"
#include "sluice/net/frame.hpp"

namespace sluice::net::detail {

void encode(const frame& f, schema::Frame::Builder out);
frame decode(schema::Frame::Reader in, const std::string& field);

void encode(const control& c, schema::Control::Builder out);
control decode(schema::Control::Reader in, const std::string& field);

void encode(const snapshot_entry_msg& e, schema::SnapshotEntry::Builder out);
snapshot_entry_msg decode(schema::SnapshotEntry::Reader in, const std::string& field);

/// Decodes a whole `deliver` payload; fields are named "frames[i]...".
std::vector<frame> decode_frames(capnp::List<schema::Frame>::Reader in);
void encode_frames(const std::vector<frame>& frames, capnp::List<schema::Frame>::Builder out);

std::vector<snapshot_entry_msg> decode_entries(capnp::List<schema::SnapshotEntry>::Reader in);
void encode_entries(const std::vector<snapshot_entry_msg>& entries,
                    capnp::List<schema::SnapshotEntry>::Builder out);

/// Rough size of `f` on the wire in bytes, to keep one `deliver` call's
/// message well under the receiver's traversal limit.
size_t wire_size(const frame& f) noexcept;

/// Visitor made of lambdas, for std::visit over the message variants.
template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

/// Throws the protocol_error naming `field`.
[[noreturn]] inline void fail(const std::string& field, const std::string& why) {
  throw protocol_error(field + ": " + why);
}

/// Decodes every element of a list, naming them "<name>[i]".
template <class T, class Reader>
std::vector<T> decode_list(Reader in, const std::string& name) {
  std::vector<T> out;
  out.reserve(in.size());
  for (unsigned i = 0; i < in.size(); ++i)
    out.push_back(decode(in[i], name + "[" + std::to_string(i) + "]"));
  return out;
}

/// Encodes `items` into a list initialised with their count.
template <class T, class Builder>
void encode_list(const std::vector<T>& items, Builder out) {
  for (unsigned i = 0; i < out.size(); ++i)
    encode(items[i], out[i]);
}

/// Copies of Cap'n Proto blobs as std::string and back.
std::string to_string(capnp::Text::Reader t);
std::string to_string(capnp::Data::Reader d);
capnp::Data::Reader as_data(const std::string& s) noexcept;

}  // namespace sluice::net::detail
