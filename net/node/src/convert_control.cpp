// Control messages and snapshot entries: plain C++ <-> Cap'n Proto.
#include <utility>

#include "convert.hpp"

namespace sluice::net::detail {

namespace {

using C = schema::Control;

std::string non_empty(capnp::Text::Reader t, const std::string& field) {
  if (t.size() == 0)
    fail(field, "must not be empty");
  return to_string(t);
}

}  // namespace

std::string to_string(capnp::Text::Reader t) {
  return {t.cStr(), t.size()};
}

std::string to_string(capnp::Data::Reader d) {
  return {reinterpret_cast<const char*>(d.begin()), d.size()};
}

capnp::Data::Reader as_data(const std::string& s) noexcept {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

void encode(const control& c, C::Builder out) {
  std::visit(overloaded{
                 [&](const join_msg& m) {
                   auto o = out.initJoin();
                   o.setNode(m.node);
                 },
                 [&](const joined_msg& m) {
                   auto o = out.initJoined();
                   o.setCoordinator(m.coordinator);
                 },
                 [&](const deploy_msg& m) {
                   auto o = out.initDeploy();
                   o.setAttempt(m.attempt);
                   o.setRestoreFrom(m.restore_from);
                   auto list = o.initPlacement(static_cast<unsigned>(m.placement.size()));
                   for (unsigned i = 0; i < list.size(); ++i)
                     list.set(i, m.placement[i]);
                 },
                 [&](const deployed_msg& m) {
                   auto o = out.initDeployed();
                   o.setAttempt(m.attempt);
                   o.setTasks(m.tasks);
                 },
                 [&](const cancel_msg& m) {
                   auto o = out.initCancel();
                   o.setAttempt(m.attempt);
                   o.setReason(m.reason);
                 },
                 [&](const shutdown_msg& m) {
                   auto b = out.initShutdown();
                   b.setReason(m.reason);
                   b.setRescaleTo(m.rescale_to);
                 },
                 [&](const ok_msg&) { out.setOk(); },
                 [&](const error_msg& m) {
                   auto o = out.initError();
                   o.setReason(m.reason);
                   o.setCode(static_cast<uint16_t>(m.code));
                 },
             },
             c);
}

control decode(C::Reader in, const std::string& field) {
  switch (in.which()) {
    case C::UNSET:
      fail(field, "control kind not set");
    case C::JOIN: {
      auto m = in.getJoin();
      return join_msg{non_empty(m.getNode(), field + ".join.node")};
    }
    case C::JOINED: {
      auto m = in.getJoined();
      return joined_msg{non_empty(m.getCoordinator(), field + ".joined.coordinator")};
    }
    case C::DEPLOY: {
      auto m = in.getDeploy();
      if (!m.hasPlacement() || m.getPlacement().size() == 0)
        fail(field + ".deploy.placement", "missing (one node index per vertex instance)");
      deploy_msg d{m.getAttempt(), m.getRestoreFrom(), {}};
      for (auto node : m.getPlacement())
        d.placement.push_back(node);
      return d;
    }
    case C::DEPLOYED: {
      auto m = in.getDeployed();
      return deployed_msg{m.getAttempt(), m.getTasks()};
    }
    case C::CANCEL: {
      auto m = in.getCancel();
      return cancel_msg{m.getAttempt(), to_string(m.getReason())};
    }
    case C::SHUTDOWN:
      return shutdown_msg{to_string(in.getShutdown().getReason()), in.getShutdown().getRescaleTo()};
    case C::OK:
      return ok_msg{};
    case C::ERROR: {
      const auto code = in.getError().getCode();
      if (code > static_cast<uint16_t>(errc::unexpected))
        fail(field + ".error.code", "unknown code " + std::to_string(code));
      return error_msg{non_empty(in.getError().getReason(), field + ".error.reason"),
                       static_cast<errc>(code)};
    }
  }
  fail(field, "unknown control kind " + std::to_string(static_cast<unsigned>(in.which())));
}

void encode(const snapshot_entry_msg& e, schema::SnapshotEntry::Builder out) {
  out.setOperatorUid(e.operator_uid);
  out.setInstance(e.instance);
  out.setKeyGroup(e.key_group);
  out.setOperatorState(e.operator_state);
  out.setValue(as_data(e.value));
}

snapshot_entry_msg decode(schema::SnapshotEntry::Reader in, const std::string& field) {
  return {non_empty(in.getOperatorUid(), field + ".operatorUid"), in.getInstance(),
          in.getKeyGroup(), in.getOperatorState(), to_string(in.getValue())};
}

std::vector<snapshot_entry_msg> decode_entries(capnp::List<schema::SnapshotEntry>::Reader in) {
  return decode_list<snapshot_entry_msg>(in, "entries");
}

void encode_entries(const std::vector<snapshot_entry_msg>& entries,
                    capnp::List<schema::SnapshotEntry>::Builder out) {
  encode_list(entries, out);
}

}  // namespace sluice::net::detail

namespace sluice::net {

const char* kind_name(const control& c) noexcept {
  static constexpr const char* names[] = {"join",   "joined",   "deploy", "deployed",
                                          "cancel", "shutdown", "ok",     "error"};
  static_assert(std::size(names) == std::variant_size_v<control>);
  return names[c.index()];
}

}  // namespace sluice::net
