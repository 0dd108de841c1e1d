#pragma once

#include <stdexcept>
#include <string>

namespace sluice::net {

/// A message from a peer that does not follow the protocol: a union member
/// that is not set or unknown, a missing field, a value out of range. The
/// message names the offending field ("frame[3].credit.n: must be at least 1").
/// Thrown by decoding; the node service turns it into the failing RPC's error.
class protocol_error : public std::runtime_error {
public:
  explicit protocol_error(const std::string& what)
      : std::runtime_error("protocol error: " + what) {}
};

}  // namespace sluice::net
