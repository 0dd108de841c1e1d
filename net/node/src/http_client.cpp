#include "sluice/net/http_client.hpp"

#include <fmt/format.h>
#include <kj/async-io.h>
#include <kj/compat/http.h>

#include <stdexcept>

namespace sluice::net {
namespace {

/// How far a request got: names what was under way when it failed or timed out.
enum class phase { resolving, connecting, waiting, reading };

std::string_view to_text(phase p) {
  switch (p) {
    case phase::resolving:
      return "resolving the host name";
    case phase::connecting:
      return "connecting";
    case phase::waiting:
      return "waiting for the answer";
    case phase::reading:
      return "reading the answer";
  }
  return "?";
}

/// One request's objects; outlives the promise chain that refers to it.
struct exchange {
  phase at = phase::resolving;
  kj::Own<kj::NetworkAddress> address;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<kj::HttpClient> client;
  http_result result;
};

/// The reason in a KJ exception's description, without KJ's parameter dump:
/// "DNS lookup failed.; params.host = x; ...; gai_strerror(status) = Name or
/// service not known" says "Name or service not known".
std::string reason(kj::StringPtr description) {
  std::string_view d{description.cStr(), description.size()};
  constexpr std::string_view gai = "gai_strerror(status) = ";
  if (const auto at = d.find(gai); at != std::string_view::npos)
    return std::string{d.substr(at + gai.size())};
  return std::string{d.substr(0, d.find("; "))};
}

}  // namespace

struct http_client::impl {
  impl() {
    kj::HttpHeaderTable::Builder b;
    authorization = b.add("Authorization");
    table = b.build();
  }

  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::HttpHeaderId authorization = kj::HttpHeaderId::HOST;  // set in the constructor
  kj::Own<kj::HttpHeaderTable> table;
};

http_client::http_client() : impl_(std::make_unique<impl>()) {}
http_client::~http_client() = default;

http_result http_client::request(const std::string& method_name, const std::string& host,
                                 uint16_t port, const std::string& path_and_query,
                                 const std::string& bearer_token,
                                 std::chrono::milliseconds timeout) {
  kj::HttpMethod method = kj::HttpMethod::GET;
  KJ_IF_MAYBE (m, kj::tryParseHttpMethod(method_name.c_str()))
    method = *m;
  else
    throw std::invalid_argument("http_client: unknown method " + method_name);

  auto& io = impl_->io;
  auto& self = *impl_;
  exchange x;
  const std::string host_header = fmt::format("{}:{}", host, port);
  kj::Promise<void> work =
      io.provider->getNetwork()
          .parseAddress(host.c_str(), port)
          .then([&x](kj::Own<kj::NetworkAddress> a) {
            x.at = phase::connecting;
            x.address = kj::mv(a);
            return x.address->connect();
          })
          .then([&](kj::Own<kj::AsyncIoStream> s) {
            x.at = phase::waiting;
            x.stream = kj::mv(s);
            x.client = kj::newHttpClient(*self.table, *x.stream);
            kj::HttpHeaders headers{*self.table};
            headers.set(kj::HttpHeaderId::HOST, host_header.c_str());
            if (!bearer_token.empty())
              headers.set(self.authorization, kj::str("Bearer ", bearer_token.c_str()));
            const bool post_like = method != kj::HttpMethod::GET && method != kj::HttpMethod::HEAD;
            kj::Maybe<uint64_t> body_size = nullptr;
            if (post_like)
              body_size = uint64_t{0};
            auto req = x.client->request(method, path_and_query.c_str(), headers, body_size);
            req.body = nullptr;  // no body: ends the request
            return kj::mv(req.response);
          })
          .then([&x](kj::HttpClient::Response r) {
            // Headers stay valid only until the body is read: copy first.
            x.result.status = r.statusCode;
            KJ_IF_MAYBE (ct, r.headers->get(kj::HttpHeaderId::CONTENT_TYPE))
              x.result.content_type = ct->cStr();
            x.at = phase::reading;
            auto body = kj::mv(r.body);
            auto text = body->readAllText(max_body_bytes);
            return text.attach(kj::mv(body));
          })
          .then([&x](kj::String text) { x.result.body.assign(text.begin(), text.size()); });

  bool timed_out = false;
  auto bounded =
      work.exclusiveJoin(io.provider->getTimer()
                             .afterDelay(static_cast<int64_t>(timeout.count()) * kj::MILLISECONDS)
                             .then([&timed_out] { timed_out = true; }));
  try {
    bounded.wait(io.waitScope);
  } catch (const kj::Exception& e) {
    auto& r = x.result;
    const auto what = reason(e.getDescription());
    if (x.at == phase::resolving) {
      r.failure = http_failure::resolve;
      r.error = fmt::format("cannot resolve host '{}': {}", host, what);
    } else if (x.at == phase::connecting && what.find("Connection refused") != std::string::npos) {
      r.failure = http_failure::refused;
      r.error = "connection refused";
    } else {
      r.failure = http_failure::connection;
      r.error = fmt::format("connection failed while {}: {}", to_text(x.at), what);
    }
    return r;
  }
  if (timed_out) {
    x.result.failure = http_failure::timeout;
    x.result.error = fmt::format("timed out after {} ms {}", timeout.count(), to_text(x.at));
  }
  return x.result;
}

http_result http_fetch(const std::string& method, const std::string& host, uint16_t port,
                       const std::string& path_and_query, const std::string& bearer_token,
                       std::chrono::milliseconds timeout) {
  http_client client;
  return client.request(method, host, port, path_and_query, bearer_token, timeout);
}

}  // namespace sluice::net
