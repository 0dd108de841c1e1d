#include "sluice/net/http_server.hpp"

#include <kj/compat/http.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace sluice::net {

struct http_server::impl final : kj::HttpService {
  explicit impl(http_handler h) : handler(std::move(h)) {
    kj::HttpHeaderTable::Builder b;
    authorization = b.add("Authorization");
    table = b.build();
  }

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream&,
                            Response& response) override {
    http_request req;
    req.method = kj::str(method).cStr();
    req.url = url.cStr();
    KJ_IF_MAYBE (auth, headers.get(authorization))
      req.authorization = auth->cStr();
    http_response res;
    try {
      res = handler(req);
    } catch (const std::exception& e) {
      res = {500, "text/plain; charset=utf-8", std::string{"internal error: "} + e.what() + "\n"};
    }
    if (res.later) {
      ++pending;
      auto deadline = timer->now() + res.wait_limit.count() * kj::MILLISECONDS;
      return wait(kj::mv(res.later), deadline, response).attach(kj::defer([this] { --pending; }));
    }
    return send(res, response);
  }

  kj::Promise<void> wait(std::function<std::optional<http_response>()> later,
                         kj::TimePoint deadline, Response& response) {
    std::optional<http_response> res;
    try {
      res = later();
    } catch (const std::exception& e) {
      res = http_response{500, "text/plain; charset=utf-8",
                          std::string{"internal error: "} + e.what() + "\n"};
    }
    if (!res && timer->now() >= deadline)
      res =
          http_response{504, "application/json", "{\"error\":\"no answer within the time limit\"}"};
    if (res)
      return send(*res, response);
    return timer->afterDelay(50 * kj::MILLISECONDS)
        .then([this, later = kj::mv(later), deadline, &response]() mutable {
          return wait(kj::mv(later), deadline, response);
        });
  }

  kj::Promise<void> send(const http_response& res, Response& response) {
    kj::HttpHeaders out{*table};
    out.set(kj::HttpHeaderId::CONTENT_TYPE, kj::str(res.content_type.c_str()));
    auto body = kj::heapString(res.body.data(), res.body.size());
    auto stream = response.send(res.status, status_text(res.status), out, body.size());
    auto write = stream->write(body.begin(), body.size());
    return write.attach(kj::mv(stream), kj::mv(body));
  }

  static kj::StringPtr status_text(unsigned s) {
    switch (s) {
      case 200:
        return "OK";
      case 202:
        return "Accepted";
      case 403:
        return "Forbidden";
      case 409:
        return "Conflict";
      case 504:
        return "Gateway Timeout";
      case 400:
        return "Bad Request";
      case 401:
        return "Unauthorized";
      case 404:
        return "Not Found";
      case 405:
        return "Method Not Allowed";
      default:
        return s >= 500 ? "Internal Server Error" : "Status";
    }
  }

  http_handler handler;
  kj::Timer* timer = nullptr;
  std::atomic<int> pending{0};                              ///< Answers waiting for `later`.
  kj::HttpHeaderId authorization = kj::HttpHeaderId::HOST;  // set in the constructor
  kj::Own<kj::HttpHeaderTable> table;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::Own<kj::HttpServer> server;
  kj::Promise<void> serving = nullptr;
};

http_server::http_server(event_loop& loop, const std::string& host, uint16_t port,
                         http_handler handler)
    : loop_(loop), impl_(std::make_unique<impl>(std::move(handler))) {
  port_ = loop_.call([&]() -> kj::Promise<uint16_t> {
    auto& io = loop_.io();
    return io.provider->getNetwork()
        .parseAddress(host.c_str(), port)
        .then([this, &io](kj::Own<kj::NetworkAddress> addr) {
          impl_->listener = addr->listen();
          impl_->timer = &io.provider->getTimer();
          kj::HttpServerSettings settings;
          settings.headerTimeout = 5 * kj::SECONDS;  // slow or silent clients are cut off
          impl_->server =
              kj::heap<kj::HttpServer>(io.provider->getTimer(), *impl_->table, *impl_, settings);
          impl_->serving =
              impl_->server->listenHttp(*impl_->listener).eagerlyEvaluate([](kj::Exception&&) {
              });  // a failed accept ends serving, never the process
          return static_cast<uint16_t>(impl_->listener->getPort());
        });
  });
}

http_server::~http_server() {
  // Answers still waiting (e.g. a stop-with-savepoint that just ended the
  // job) get a last chance to go out.
  for (int i = 0; i < 40 && impl_->pending.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  try {
    loop_.call([this] {
      impl_->serving = nullptr;  // cancels serving and every open connection
      impl_->server = nullptr;
      impl_->listener = nullptr;
    });
  } catch (...) {
    // The loop is gone: its objects went with it.
  }
}

}  // namespace sluice::net
