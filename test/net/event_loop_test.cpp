#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "sluice/net/event_loop.hpp"

using sluice::net::event_loop;

BOOST_AUTO_TEST_SUITE(net_event_loop)

BOOST_AUTO_TEST_CASE(call_runs_on_the_loop_thread_and_returns_the_result) {
  event_loop loop;
  const auto caller = std::this_thread::get_id();
  const auto [on_loop, other_thread] = loop.call([&] {
    return std::pair{loop.on_loop_thread(), std::this_thread::get_id() != caller};
  });
  BOOST_TEST(on_loop);
  BOOST_TEST(other_thread);
  BOOST_TEST(loop.call([] { return kj::Promise<int>(42); }) == 42);
}

BOOST_AUTO_TEST_CASE(exceptions_reach_the_caller_with_their_type) {
  event_loop loop;
  BOOST_CHECK_EXCEPTION(loop.call([]() -> int { throw std::invalid_argument("bad input 7"); }),
                        std::invalid_argument,
                        [](const auto& e) { return std::string(e.what()) == "bad input 7"; });
}

BOOST_AUTO_TEST_CASE(call_on_the_loop_thread_runs_inline_but_refuses_to_wait) {
  event_loop loop;
  const int inner = loop.call([&] { return loop.call([] { return 5; }); });
  BOOST_TEST(inner == 5);
  const bool refused = loop.call([&] {
    try {
      loop.call([] { return kj::Promise<int>(1); });
      return false;
    } catch (const std::logic_error&) {
      return true;
    }
  });
  BOOST_TEST(refused);
}

BOOST_AUTO_TEST_CASE(posted_functions_run_in_order_and_not_after_stop) {
  std::vector<int> seen;  // touched only on the loop thread, read after it is joined
  std::atomic<bool> release{false}, blocking{false}, refused_while_stopping{false};
  std::atomic<int> ran_after_stop{0};
  {
    event_loop loop;
    for (int i = 0; i < 1000; ++i)
      BOOST_TEST(loop.post([&seen, i] { seen.push_back(i); }));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (loop.call([&] { return seen.size(); }) < 1000 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));

    // While this holds the loop thread, the functions posted after it queue
    // up and then run as one batch.
    BOOST_TEST(loop.post([&] {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!release && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }));
    // Holds the loop thread until the destructor below has begun to stop the
    // loop, which is when post() starts refusing.
    BOOST_TEST(loop.post([&] {
      blocking = true;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (std::chrono::steady_clock::now() < until) {
        if (!loop.post([&] { ++ran_after_stop; })) {
          refused_while_stopping = true;
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }));
    // Queued before the stop, behind a function that returns after it began:
    // none of them may run.
    for (int i = 0; i < 100; ++i)
      BOOST_TEST(loop.post([&] { ++ran_after_stop; }));
    release = true;
    while (!blocking)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }  // ~event_loop: stops while the loop thread is busy and functions are still queued
  BOOST_REQUIRE_EQUAL(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i)
    BOOST_TEST(seen[i] == i);
  BOOST_TEST(refused_while_stopping.load());  // post() refuses once the loop is stopping
  BOOST_TEST(ran_after_stop.load() == 0);     // nothing queued before the stop ran after it began
}

BOOST_AUTO_TEST_CASE(stopping_fails_a_call_still_waiting_and_does_not_hang) {
  std::atomic<bool> waiting_failed{false};
  std::thread caller;
  const auto t0 = std::chrono::steady_clock::now();
  {
    event_loop loop;
    std::atomic<bool> started{false};
    caller = std::thread{[&] {
      try {
        loop.call([&] {
          started = true;
          return loop.io().provider->getTimer().afterDelay(3600 * kj::SECONDS);
        });
      } catch (const std::exception&) {
        waiting_failed = true;
      }
    }};
    while (!started)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  caller.join();
  BOOST_TEST(waiting_failed.load());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)));
}

BOOST_AUTO_TEST_SUITE_END()
