// The line endpoint registry (source/line_endpoint.hpp) and the replayable
// line source on top of it, with a fake receiver: no network here (the TCP
// receiver is the runtime's, tested in test/actors/tcp_source_test.cpp).
#include "sluice/source/line_endpoint.hpp"

#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <atomic>
#include <charconv>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/source/tcp_lines.hpp"
#include "sluice/testing/harness.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed with its contents.
class temp_dir {
public:
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "sluice-endpoint-XXXXXX").string();
    if (!mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    source::release_line_endpoint(log());
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string log() const { return (path_ / "log").string(); }

private:
  fs::path path_;
};

/// Stands for a socket server: remembers what it was started with. Tests
/// append to its log as a sender's lines would be.
struct fake_receiver final : source::line_receiver {
  static inline std::atomic<int> started{0};
  static inline std::atomic<int> alive{0};

  fake_receiver(std::shared_ptr<state::line_log> l, uint16_t p, size_t m)
      : log(std::move(l)),
        port_(p == 0 ? static_cast<uint16_t>(40000 + started.load()) : p),
        max_line(m) {
    ++started;
    ++alive;
  }
  ~fake_receiver() override { --alive; }
  uint16_t port() const noexcept override { return port_; }

  std::shared_ptr<state::line_log> log;
  uint16_t port_;
  size_t max_line;
};

/// Installs the fake for one test, and removes every factory afterwards.
struct with_fake_receiver {
  with_fake_receiver() {
    fake_receiver::started = 0;
    source::install_line_receiver(
        [](std::shared_ptr<state::line_log> log, uint16_t port,
           size_t max_line) -> result<std::unique_ptr<source::line_receiver>> {
          return std::unique_ptr<source::line_receiver>{
              std::make_unique<fake_receiver>(std::move(log), port, max_line)};
        });
  }
  ~with_fake_receiver() { source::install_line_receiver({}); }
};

template <class T>
T must(result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.ok(), (r ? std::string{} : to_string(r.error())));
  return std::move(r).value();
}

parsed<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    return parsed<uint64_t>::fail("not a number");
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(source_line_endpoint)

BOOST_AUTO_TEST_CASE(without_a_receiver_the_endpoint_is_unavailable) {
  source::install_line_receiver({});
  temp_dir dir;
  auto ep = source::acquire_line_endpoint(dir.log(), 0);
  BOOST_REQUIRE(!ep.ok());
  BOOST_TEST((ep.error().code == errc::unavailable), to_string(ep.error()));
  BOOST_TEST(ep.error().message.find(dir.log()) != std::string::npos, ep.error().message);
}

BOOST_AUTO_TEST_CASE(attempts_share_the_endpoint_until_it_is_released) {
  with_fake_receiver fake;
  temp_dir dir;
  {
    auto a = must(source::acquire_line_endpoint(dir.log(), 0, 77));
    BOOST_TEST(fake_receiver::started.load() == 1);
    auto& r = dynamic_cast<fake_receiver&>(*a.receiver);
    BOOST_TEST(r.log.get() == a.log.get());  // the receiver appends to the endpoint's log
    BOOST_TEST(r.max_line == 77u);
    // A second attempt (port 0, or the bound port) finds the same endpoint.
    auto b = must(source::acquire_line_endpoint(dir.log() + "/.", 0));
    auto c = must(source::acquire_line_endpoint(dir.log(), a.receiver->port()));
    BOOST_TEST(b.receiver.get() == a.receiver.get());
    BOOST_TEST(c.log.get() == a.log.get());
    BOOST_TEST(fake_receiver::started.load() == 1);
    // Another port is a conflict, named in the error.
    auto d = source::acquire_line_endpoint(dir.log(), 1234);
    BOOST_REQUIRE(!d.ok());
    BOOST_TEST((d.error().code == errc::invalid_argument));
    BOOST_TEST(d.error().message.find("port " + std::to_string(a.receiver->port()) +
                                      ", not 1234") != std::string::npos,
               d.error().message);
    must(a.log->append({"kept"}));
    // Released: the receiver lives on while an attempt still holds it.
    source::release_line_endpoint(dir.log());
    source::release_line_endpoint(dir.log());  // unknown now: ignored
    BOOST_TEST(fake_receiver::alive.load() == 1);
  }
  BOOST_TEST(fake_receiver::alive.load() == 0);
  // The next acquire starts a new receiver on the same durable log.
  auto e = must(source::acquire_line_endpoint(dir.log(), 0));
  BOOST_TEST(fake_receiver::started.load() == 2);
  BOOST_TEST(must(e.log->size()) == 1u);
}

BOOST_AUTO_TEST_CASE(a_failing_receiver_leaves_no_endpoint) {
  temp_dir dir;
  int calls = 0;
  source::install_line_receiver([&](std::shared_ptr<state::line_log>, uint16_t,
                                    size_t) -> result<std::unique_ptr<source::line_receiver>> {
    ++calls;
    return error{errc::io_error, "bind: address in use"};
  });
  auto a = source::acquire_line_endpoint(dir.log(), 9);
  BOOST_REQUIRE(!a.ok());
  BOOST_TEST((a.error().code == errc::io_error));
  BOOST_TEST(!source::acquire_line_endpoint(dir.log(), 9).ok());
  BOOST_TEST(calls == 2);
  source::install_line_receiver({});
}

BOOST_AUTO_TEST_CASE(source_reads_the_log_until_the_end_marker_and_releases_the_endpoint) {
  with_fake_receiver fake;
  temp_dir dir;
  auto port = std::make_shared<std::atomic<uint16_t>>(0);
  using source_t = tcp_line_source<uint64_t, decltype(&parse_u64)>;
  testing::harness h{std::make_unique<source_t>(dir.log(), 0, &parse_u64, port)};
  BOOST_TEST(port->load() == 40000);  // the receiver's port is published
  BOOST_TEST(fake_receiver::alive.load() == 1);
  auto ep = must(source::acquire_line_endpoint(dir.log(), 0));
  BOOST_TEST((h.poll() == poll_status::idle));  // nothing received yet
  must(ep.log->append({"1", "2", "x", "3"}));
  BOOST_TEST((h.poll() == poll_status::idle));
  BOOST_TEST((h.values<uint64_t>() == std::vector<uint64_t>{1, 2, 3}));
  auto dead = h.dead_letters();
  BOOST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].position == "tcp:3");
  must(ep.log->append({"4", "__END__", "5"}));
  BOOST_TEST((h.poll() == poll_status::end));
  BOOST_TEST(
      (h.values<uint64_t>() == std::vector<uint64_t>{4}));  // lines after the marker are not read
  BOOST_TEST(h.as<source_t>().position() == 6u);
  // The source released the endpoint at the marker: the next acquire starts
  // a new receiver, and the old one stops when its last holder lets go.
  ep = {};
  auto again = must(source::acquire_line_endpoint(dir.log(), 0));
  BOOST_TEST(fake_receiver::started.load() == 2);
  BOOST_TEST(fake_receiver::alive.load() == 2);  // the source still holds the first
}

BOOST_AUTO_TEST_CASE(instances_other_than_0_end_at_once) {
  with_fake_receiver fake;
  temp_dir dir;
  using source_t = tcp_line_source<uint64_t, decltype(&parse_u64)>;
  testing::harness h{std::make_unique<source_t>(dir.log(), 0, &parse_u64), 1, 2};
  BOOST_TEST((h.poll() == poll_status::end));
  BOOST_TEST(fake_receiver::started.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
