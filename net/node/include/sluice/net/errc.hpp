#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::net {

/// Why a node refused a control request (`error_msg::code`). Travels as a
/// field of the Cap'n Proto schema, so a peer branches on it and never parses
/// the human-readable reason.
enum class errc : uint16_t {
  unspecified = 0,  ///< No code given.
  unknown_node,     ///< The sender is not a node of this node's cluster file.
  not_coordinator,  ///< A join reached a node that does not coordinate.
  not_allowed,      ///< Only the coordinator may send this request.
  bad_placement,    ///< A deployment names instances or nodes this job does not have.
  missing_state,    ///< A restore needs a state directory or a checkpoint this node lacks.
  deploy_failed,    ///< Spawning this node's tasks failed.
  unexpected,       ///< A request this node does not serve.
};

constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::unspecified:
      return "unspecified";
    case errc::unknown_node:
      return "unknown_node";
    case errc::not_coordinator:
      return "not_coordinator";
    case errc::not_allowed:
      return "not_allowed";
    case errc::bad_placement:
      return "bad_placement";
    case errc::missing_state:
      return "missing_state";
    case errc::deploy_failed:
      return "deploy_failed";
    case errc::unexpected:
      return "unexpected";
  }
  return "unknown";
}

}  // namespace sluice::net
