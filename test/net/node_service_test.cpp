// A real node_server and peer_link on 127.0.0.1: frames, control calls,
// heartbeats, snapshots, authentication and connection loss.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>

#include "test_support.hpp"

using namespace net_test;

namespace {

/// A loop, a recording handler and a server on an ephemeral port.
struct server_fixture {
  event_loop loop;
  recording_handler handler;
  std::unique_ptr<node_server> server =
      std::make_unique<node_server>(loop, "127.0.0.1", 0, server_opts(), handler);

  std::unique_ptr<peer_link> connect(link_options o,
                                     std::function<void(std::string)> on_broken = {}) {
    auto l = std::make_unique<peer_link>(loop, std::move(o), std::move(on_broken));
    l->connect();
    return l;
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(net_node_service, server_fixture)

BOOST_AUTO_TEST_CASE(frames_of_every_kind_arrive_in_order_and_identical) {
  link_options o = link_opts(server->port());
  o.max_in_flight = 4;
  auto link = connect(o);
  std::vector<frame> sent;
  constexpr uint32_t total = 10'000;
  for (uint32_t i = 0; i < total;) {
    std::vector<frame> chunk;
    for (uint32_t k = 0; k < 7 && i < total; ++k, ++i)
      chunk.push_back(make_frame(i));
    sent.insert(sent.end(), chunk.begin(), chunk.end());
    link->send(std::move(chunk));
  }
  const auto got = handler.wait_frames(total);
  BOOST_REQUIRE_EQUAL(got.size(), sent.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(got[i] == sent[i]))
      BOOST_FAIL("frame " << i << " (" << kind_name(sent[i].body) << ") differs");
  }
  BOOST_TEST(handler.deliver_calls() > 1u);  // coalesced into several pipelined calls
  BOOST_TEST(handler.peers().front() == "n2");
  BOOST_TEST(!link->broken());
}

BOOST_AUTO_TEST_CASE(a_large_batch_blob_passes) {
  auto link = connect(link_opts(server->port()));
  std::string blob(8u << 20, '\0');
  for (size_t i = 0; i < blob.size(); ++i)
    blob[i] = static_cast<char>(i * 31 + i / 4096);
  frame f{{1, 0}, {0, 0}, 1, batch_body{2, 100'000, blob}};
  link->send({f, make_frame(2)});
  const auto got = handler.wait_frames(2);
  BOOST_REQUIRE_EQUAL(got.size(), 2u);
  BOOST_TEST((got[0] == f));
  BOOST_TEST((got[1] == make_frame(2)));
}

BOOST_AUTO_TEST_CASE(control_heartbeat_and_snapshot_calls_reach_the_handler) {
  auto link = connect(link_opts(server->port()));
  BOOST_TEST((link->request(join_msg{"n2"}, 5s) == control{joined_msg{"coordinator-of-n2"}}));
  BOOST_TEST((link->request(deploy_msg{1, 0, {0, 1}}, 5s) == control{ok_msg{}}));

  link->heartbeat(41);
  BOOST_TEST(eventually([&] { return link->last_heartbeat().has_value(); }));
  const auto echo = *link->last_heartbeat();
  BOOST_TEST(echo.node == "n1");
  BOOST_TEST(echo.seq == 41u);
  BOOST_TEST(handler.last_seq() == 41u);

  std::vector<snapshot_entry_msg> entries{{"op-a", 0, 5, false, std::string("k\0v", 3)},
                                          {"op-b", 1, 0, true, "s"}};
  link->put_snapshot(7, std::vector<snapshot_entry_msg>(entries), 5s);
  BOOST_TEST((handler.with_lock<std::vector<snapshot_entry_msg>>(
                  [](recording_handler& h) { return h.snapshot(7); }) == entries));
}

BOOST_AUTO_TEST_CASE(a_failing_handler_fails_the_call_but_not_the_link) {
  auto link = connect(link_opts(server->port()));
  const auto put = error_of([&] { link->put_snapshot(5, {}, 5s); });
  BOOST_TEST(put.find("putSnapshot to 127.0.0.1:") == 0u, put);
  BOOST_TEST(put.find("no room for snapshot 5") != std::string::npos, put);
  const auto refused = error_of([&] { link->request(shutdown_msg{"bye"}, 5s); });
  BOOST_TEST(refused.find("shutdown refused in this test") != std::string::npos, refused);
  BOOST_TEST(!link->broken());
  BOOST_TEST((link->request(ok_msg{}, 5s) == control{ok_msg{}}));
}

BOOST_AUTO_TEST_CASE(wrong_secret_and_wrong_cluster_are_refused_with_the_reason) {
  auto wrong_secret = link_opts(server->port());
  wrong_secret.secret = "not-the-secret-at-all-0123456789";
  const auto e1 = error_of([&] { connect(wrong_secret); });
  BOOST_TEST(e1.find("connect to 127.0.0.1:" + std::to_string(server->port()) + " failed") == 0u,
             e1);
  BOOST_TEST(e1.find("refused: wrong secret") != std::string::npos, e1);

  auto wrong_cluster = link_opts(server->port());
  wrong_cluster.cluster = "other-cluster";
  const auto e2 = error_of([&] { connect(wrong_cluster); });
  BOOST_TEST(e2.find("refused: cluster name 'other-cluster' does not match") != std::string::npos,
             e2);

  auto good = connect(link_opts(server->port(), "n3"));
  BOOST_TEST((good->request(ok_msg{}, 5s) == control{ok_msg{}}));
}

BOOST_AUTO_TEST_CASE(on_broken_fires_once_when_the_server_goes_away) {
  std::atomic<int> calls{0};
  std::mutex m;
  std::string reason;
  auto link = connect(link_opts(server->port()), [&](std::string why) {
    std::lock_guard lock{m};
    reason = std::move(why);
    ++calls;
  });
  link->send({make_frame(0)});
  BOOST_REQUIRE_EQUAL(handler.wait_frames(1).size(), 1u);
  server.reset();
  BOOST_TEST(eventually([&] { return link->broken(); }));
  link->send({make_frame(1)});  // dropped, no second report
  link->heartbeat(1);
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(calls.load() == 1);
  std::lock_guard lock{m};
  BOOST_TEST(reason.find("connection lost") != std::string::npos, reason);
  BOOST_TEST(link->broken_reason() == reason);
  const auto e = error_of([&] { link->request(ok_msg{}, 1s); });
  BOOST_TEST(e.find("link broken") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(the_server_reports_a_peer_that_disconnects) {
  auto link = connect(link_opts(server->port(), "n7"));
  BOOST_TEST((link->request(ok_msg{}, 5s) == control{ok_msg{}}));
  link.reset();
  BOOST_TEST(eventually([&] { return !handler.lost().empty(); }));
  BOOST_TEST(handler.lost().front().first == "n7");
  BOOST_TEST(handler.lost().front().second == "peer closed the connection");
}

BOOST_AUTO_TEST_CASE(connect_to_a_closed_port_fails_within_its_timeout) {
  const uint16_t port = server->port();
  server.reset();  // nothing listens there any more
  auto o = link_opts(port);
  o.connect_timeout = 2s;
  const auto t0 = std::chrono::steady_clock::now();
  const auto e = error_of([&] { connect(o); });
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2500ms));
  BOOST_TEST(e.find("connect to 127.0.0.1:" + std::to_string(port) + " failed: ") == 0u, e);
  BOOST_TEST(e.find("refused") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(connect_times_out_on_a_peer_that_never_answers) {
  // A listening socket nobody accepts from: TCP connects, hello never returns.
  event_loop other;
  auto listener = other.call([&] {
    return other.io()
        .provider->getNetwork()
        .parseAddress("127.0.0.1", 0)
        .then([](kj::Own<kj::NetworkAddress> a) { return a->listen(); });
  });
  const auto port = static_cast<uint16_t>(listener->getPort());
  auto o = link_opts(port);
  o.connect_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  const auto e = error_of([&] { connect(o); });
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  BOOST_TEST(e.find("timed out after 300 ms") != std::string::npos, e);
  other.call([&] { listener = nullptr; });
}

BOOST_AUTO_TEST_SUITE_END()
