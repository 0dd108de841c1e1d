#include "delivery.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sluice/sink/part_file.hpp"

namespace churn {
namespace {

/// One TCP connection shared by the alert sink's instances in a process.
class tcp_out {
public:
  tcp_out(std::string host, std::string port) : host_(std::move(host)), port_(std::move(port)) {}
  ~tcp_out() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  void send(const std::string& bytes) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (int attempt = 0;; ++attempt) {
      std::string why;
      if (fd_ < 0)
        why = connect();
      if (why.empty() && send_all(bytes, why))
        return;
      if (fd_ >= 0)
        ::close(fd_);
      fd_ = -1;
      if (attempt == 1)
        throw std::runtime_error(
            fmt::format("cannot send alerts to tcp://{}:{}: {}", host_, port_, why));
    }
  }

private:
  std::string connect() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res); rc != 0)
      return ::gai_strerror(rc);
    std::string why = "no address";
    for (addrinfo* a = res; a; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        why = std::strerror(errno);
        continue;
      }
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        fd_ = fd;
        break;
      }
      why = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(res);
    return fd_ >= 0 ? std::string{} : why;
  }

  bool send_all(const std::string& bytes, std::string& why) {
    size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        why = std::strerror(errno);
        return false;
      }
      at += static_cast<size_t>(n);
    }
    return true;
  }

  std::string host_, port_;
  std::mutex mtx_;
  int fd_ = -1;
};

}  // namespace

std::function<void(const std::string&)> alert_delivery(const std::string& target) {
  if (target == "stdout") {
    auto mtx = std::make_shared<std::mutex>();
    return [mtx](const std::string& staged) {
      const std::string text = sluice::read_part_file(staged);
      std::lock_guard<std::mutex> guard{*mtx};
      if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
          std::fflush(stdout) != 0)
        throw std::runtime_error(
            fmt::format("cannot write alerts to standard output: {}", std::strerror(errno)));
    };
  }
  const std::string prefix = "tcp://";
  const auto colon = target.rfind(':');
  if (target.rfind(prefix, 0) == 0 && colon != std::string::npos && colon > prefix.size() &&
      colon + 1 < target.size()) {
    std::string host = target.substr(prefix.size(), colon - prefix.size());
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);  // [::1]
    auto out = std::make_shared<tcp_out>(std::move(host), target.substr(colon + 1));
    return [out](const std::string& staged) {
      out->send(sluice::read_part_file(staged));
    };
  }
  throw std::invalid_argument(
      fmt::format("alerts target '{}' is neither \"stdout\" nor \"tcp://HOST:PORT\"", target));
}

}  // namespace churn
