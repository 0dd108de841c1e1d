// Wire conversion without a network: every kind survives encode/decode, and
// decoding refuses what the protocol does not allow, naming the field.
#include <boost/test/unit_test.hpp>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>

#include "convert.hpp"
#include "test_support.hpp"

using namespace sluice::net;
namespace schema = sluice::net::schema;

namespace {

/// Runs `f` and returns the protocol_error text it throws ("" if none).
template <class F>
std::string protocol_error_of(F&& f) {
  try {
    f();
  } catch (const protocol_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(net_convert)

BOOST_AUTO_TEST_CASE(every_frame_kind_survives_encode_and_decode) {
  for (uint32_t i = 0; i < 45; ++i) {
    const frame f = net_test::make_frame(i);
    capnp::MallocMessageBuilder m;
    detail::encode(f, m.initRoot<schema::Frame>());
    const frame back = detail::decode(m.getRoot<schema::Frame>().asReader(), "frame");
    BOOST_TEST_CONTEXT("frame " << i << " (" << kind_name(f.body) << ")") {
      BOOST_TEST((back == f));
    }
  }
}

BOOST_AUTO_TEST_CASE(every_control_kind_survives_encode_and_decode) {
  const std::vector<control> all{join_msg{"n2"},
                                 joined_msg{"n1"},
                                 deploy_msg{3, 17, {0, 1, 2, 1}},
                                 deployed_msg{3, 12},
                                 cancel_msg{3, "n3 died"},
                                 shutdown_msg{"done"},
                                 ok_msg{},
                                 error_msg{"no such job"}};
  for (const auto& c : all) {
    capnp::MallocMessageBuilder m;
    detail::encode(c, m.initRoot<schema::Control>());
    BOOST_TEST_CONTEXT(kind_name(c)) {
      BOOST_TEST((detail::decode(m.getRoot<schema::Control>().asReader(), "msg") == c));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_frame_without_a_kind_is_a_protocol_error) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<schema::Frame>();
  b.initTo();
  b.initFrom();
  const auto what = protocol_error_of([&] { detail::decode(b.asReader(), "frames[4]"); });
  BOOST_TEST(what == "protocol error: frames[4]: frame kind not set");
}

BOOST_AUTO_TEST_CASE(a_frame_kind_from_a_newer_schema_is_a_protocol_error) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<schema::Frame>();
  detail::encode(net_test::make_frame(5), b);
  // Write discriminant 200 where the schema keeps it, as a newer sender would.
  const auto offset =
      capnp::Schema::from<schema::Frame>().getProto().getStruct().getDiscriminantOffset();
  auto data = capnp::toAny(b).getDataSection();
  data[offset * 2] = 200;
  data[offset * 2 + 1] = 0;
  const auto what = protocol_error_of([&] { detail::decode(b.asReader(), "frame"); });
  BOOST_TEST(what == "protocol error: frame: unknown frame kind 200");
}

BOOST_AUTO_TEST_CASE(missing_and_out_of_range_fields_are_named) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<schema::Frame>();
  b.initFrom();
  b.initCredit().setN(1);
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "f"); }) ==
             "protocol error: f.to: missing");
  b.initTo();
  b.getCredit().setN(0);
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "f"); }) ==
             "protocol error: f.credit.n: must be at least 1");
  b.initBarrier().setCheckpoint(0);
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "f"); }) ==
             "protocol error: f.barrier.checkpoint: checkpoint id 0 is not a checkpoint");
  b.initAck().setCheckpoint(2);
  b.getAck().setSyncMs(-1);
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "f"); }) ==
             "protocol error: f.ack.syncMs: must not be negative (got -1)");
  b.initBatch().setCount(5);
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "f"); }) ==
             "protocol error: f.batch.data: missing for a non-empty batch");
  b.initFailed();
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "f"); }) ==
             "protocol error: f.failed.failure: missing");
}

BOOST_AUTO_TEST_CASE(invalid_control_messages_are_named) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<schema::Control>();
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "msg"); }) ==
             "protocol error: msg: control kind not set");
  b.initDeploy().setAttempt(1);
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "msg"); }) ==
             "protocol error: msg.deploy.placement: missing (one node index per vertex instance)");
  b.initJoin();
  BOOST_TEST(protocol_error_of([&] { detail::decode(b.asReader(), "msg"); }) ==
             "protocol error: msg.join.node: must not be empty");
}

BOOST_AUTO_TEST_CASE(snapshot_entries_need_an_operator_uid) {
  capnp::MallocMessageBuilder m;
  auto list = m.initRoot<schema::Session::PutSnapshotParams>().initEntries(2);
  detail::encode(snapshot_entry_msg{"op-1", 0, 3, false, "v"}, list[0]);
  const auto what = protocol_error_of([&] { detail::decode_entries(list.asReader()); });
  BOOST_TEST(what == "protocol error: entries[1].operatorUid: must not be empty");
}

BOOST_AUTO_TEST_SUITE_END()
