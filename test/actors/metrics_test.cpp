#define BOOST_TEST_MODULE actors_metrics
#include <boost/test/unit_test.hpp>

#include <mutex>
#include <string>
#include <vector>

#include "sluice/actors/metrics_registry.hpp"

using namespace sluice::actors;

BOOST_AUTO_TEST_SUITE(latency_histogram_suite)

BOOST_AUTO_TEST_CASE(quantiles_are_nearest_rank_over_the_newest_samples) {
  latency_histogram h;
  BOOST_TEST(h.read().p99_us == -1);  // no marker yet
  for (int64_t us = 1; us <= 100; ++us)
    h.record(us * 1000);  // 1..100 ms
  auto s = h.read();
  BOOST_TEST(s.count == 100u);
  BOOST_TEST(s.window_samples == 100u);
  BOOST_TEST(s.p50_us == 50'000);
  BOOST_TEST(s.p95_us == 95'000);
  BOOST_TEST(s.p99_us == 99'000);
  BOOST_TEST(s.max_us == 100'000);
  BOOST_TEST(s.sum_us == 5050 * 1000);
  // Only the newest `window` samples count for the quantiles; the
  // histogram keeps the whole run.
  for (size_t i = 0; i < latency_histogram::window; ++i)
    h.record(7);
  s = h.read();
  BOOST_TEST(s.count == 100u + latency_histogram::window);
  BOOST_TEST(s.window_samples == latency_histogram::window);
  BOOST_TEST(s.p99_us == 7);
  BOOST_TEST(s.max_us == 7);
}

BOOST_AUTO_TEST_CASE(buckets_hold_each_sample_once_and_negative_delays_count_as_zero) {
  latency_histogram h;
  h.record(-50);         // clocks apart: 0
  h.record(100);         // on the first bound: first bucket (le 0.0001 s)
  h.record(101);         // second bucket
  h.record(60'000'000);  // beyond the last bound: the +Inf bucket
  auto s = h.read();
  BOOST_TEST(s.buckets[0] == 2u);
  BOOST_TEST(s.buckets[1] == 1u);
  BOOST_TEST(s.buckets.back() == 1u);
  uint64_t n = 0;
  for (auto b : s.buckets)
    n += b;
  BOOST_TEST(n == 4u);
  BOOST_TEST(s.p50_us == 100);
}

BOOST_AUTO_TEST_CASE(prometheus_has_a_cumulative_histogram_and_quantiles_per_sink) {
  operator_sample sink;
  sink.job = "j";
  sink.name = "out";
  sink.uid = "u";
  sink.instance = 1;
  latency_histogram h;
  h.record(300);
  h.record(2'000);
  h.record(2'000'000);
  sink.latency = h.read();
  operator_sample map = sink;  // no marker reached it: no latency lines
  map.name = "map";
  map.latency = {};
  const std::string text = metrics_registry::prometheus({map, sink}, {}, 0);
  const std::string lb = "job_name=\"j\",operator=\"out\",uid=\"u\",subtask=\"1\"";
  BOOST_TEST(text.find("# TYPE sluice_sink_latency_seconds histogram") != std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_seconds_bucket{" + lb + ",le=\"0.00025\"} 0\n") !=
             std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_seconds_bucket{" + lb + ",le=\"0.0005\"} 1\n") !=
             std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_seconds_bucket{" + lb + ",le=\"0.0025\"} 2\n") !=
             std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_seconds_bucket{" + lb + ",le=\"2.5\"} 3\n") !=
             std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_seconds_bucket{" + lb + ",le=\"+Inf\"} 3\n") !=
             std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_seconds_count{" + lb + "} 3\n") != std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_seconds_sum{" + lb + "} 2.002300\n") !=
             std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_recent_seconds{" + lb +
                       ",quantile=\"0.5\"} 0.002000\n") != std::string::npos);
  BOOST_TEST(text.find("sluice_sink_latency_recent_seconds{" + lb +
                       ",quantile=\"0.99\"} 2.000000\n") != std::string::npos);
  BOOST_TEST(text.find("operator=\"map\",uid=\"u\",subtask=\"1\",le=") == std::string::npos);

  const std::string json = metrics_registry::json({map, sink}, 0);
  BOOST_TEST(json.find("\"latency\":null") != std::string::npos);
  BOOST_TEST(
      json.find("\"latency\":{\"markers\":3,\"window\":3,\"p50_ms\":2.000,\"p95_ms\":2000.000,"
                "\"p99_ms\":2000.000,\"max_ms\":2000.000}") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(failures_say_how_they_were_recovered_and_local_restarts_are_counted) {
  auto job = metrics_registry::process().add_job("recovery-metrics", 0);
  {
    std::lock_guard<std::mutex> guard{job->mtx};
    job->failure_log.push_back({1, "window", 1, "boom", "operator_failed", true, "local"});
    job->failure_log.push_back({2, "", -1, "lost", "node_lost", true, "global"});
    job->failure_log.push_back({3, "sink", 0, "bad", "operator_failed", false, ""});
  }
  job->restarts.store(2);
  job->local_restarts.store(1);
  const std::string json = metrics_registry::failures_json(*job);
  BOOST_TEST(json.find(R"("action":"restarted","recovery":"local")") != std::string::npos, json);
  BOOST_TEST(json.find(R"("action":"restarted","recovery":"global")") != std::string::npos, json);
  BOOST_TEST(json.find(R"("action":"failed","recovery":null)") != std::string::npos, json);
  const std::string prom = metrics_registry::prometheus(metrics_registry::process().sample(),
                                                        metrics_registry::process().jobs(), 0);
  BOOST_TEST(prom.find(R"(sluice_job_local_restarts_total{job_name="recovery-metrics"} 1)") !=
                 std::string::npos,
             prom);
}
