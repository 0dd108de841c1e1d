// Metrics of a backpressured job, read over HTTP as a user would: a fast
// source feeding a sink that takes 10 ms per record. Once the credits are
// used up the source stops — its records-out counter stands still between
// two looks — while the time backpressured grows and the sink's input queue
// (the source's credits in use) is full. Then the job is cancelled over the
// same API (with the token) and ends cancelled.
#define BOOST_TEST_MODULE backpressure_metrics
#include <boost/test/included/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "prometheus_text.hpp"
#include "sluice/net/http_client.hpp"
#include "sluice/run.hpp"

using namespace std::chrono_literals;

namespace {

double value(const std::string& text, const std::string& name, const std::string& match) {
  return it::prometheus_sum(text, name, match);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_backpressured_source_stops_and_the_time_backpressured_grows) {
  constexpr uint32_t batch = 50;
  constexpr uint32_t credits = 2;
  sluice::pipeline p{"slow_sink"};
  p.generate(1'000'000, [](uint64_t i) { return i; })
      .name("numbers")
      .rebalance()
      .for_each([](const uint64_t&) { std::this_thread::sleep_for(10ms); })
      .name("slow");
  sluice::runtime_config cfg;
  cfg.workers = 2;
  cfg.batch_size = batch;
  cfg.credits = credits;
  cfg.print_summary = false;
  cfg.dead_letter_path = "/dev/null";
  cfg.http_port = 0;
  const std::string token = "backpressure-test-token-0123456789";
  auto http = sluice::serve_http(cfg, token);
  BOOST_REQUIRE(http);
  const uint16_t port = http->port();
  auto job = std::async(std::launch::async, [&] { return sluice::execute(p, cfg); });

  sluice::net::http_client client;
  auto metrics = [&] {
    auto r = client.request("GET", "127.0.0.1", port, "/metrics", {}, 5s);
    BOOST_REQUIRE(r.answered() && r.status == 200);
    return r.body;
  };
  const std::string src = "operator=\"numbers\"";
  // Wait (bounded) until the source has been backpressured for a while.
  std::string a;
  for (int i = 0; i < 100; ++i) {
    a = metrics();
    if (value(a, "sluice_backpressured_seconds_total", src) >= 0.3)
      break;
    std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST_MESSAGE(a.substr(0, 400));
  BOOST_REQUIRE(value(a, "sluice_backpressured_seconds_total", src) >= 0.3);
  std::this_thread::sleep_for(1s);
  const std::string b = metrics();

  const double out_a = value(a, "sluice_records_out_total", src);
  const double out_b = value(b, "sluice_records_out_total", src);
  BOOST_TEST_MESSAGE("source records out " << out_a << " then " << out_b);
  // The sink takes 10 ms a record (two batches a second): within 1 s it
  // frees at most three batches' worth of credit, so the source moved by at
  // most that, far from the ~1M records it would send unhindered.
  BOOST_TEST(out_b - out_a <= 3.0 * batch);
  BOOST_TEST(out_b < 2000);
  // Backpressured all along; the sink's queue is full.
  BOOST_TEST(value(b, "sluice_backpressured_seconds_total", src) >=
             value(a, "sluice_backpressured_seconds_total", src) + 0.8);
  BOOST_TEST(value(b, "sluice_output_credits_in_use", src) == credits);
  BOOST_TEST(value(b, "sluice_output_waiting_batches", src) >= 1);
  // The sink keeps working: its records-in moved.
  BOOST_TEST(value(b, "sluice_records_in_total", "operator=\"slow\"") >
             value(a, "sluice_records_in_total", "operator=\"slow\""));

  // Cancel over HTTP: the job ends at once, cancelled.
  auto c = client.request("POST", "127.0.0.1", port, "/api/cancel", token, 5s);
  BOOST_REQUIRE(c.answered());
  BOOST_TEST(c.status == 202u);
  BOOST_REQUIRE(job.wait_for(30s) == std::future_status::ready);
  const auto report = job.get();
  BOOST_TEST(!report.ok);
  BOOST_TEST(report.cancelled);
}
