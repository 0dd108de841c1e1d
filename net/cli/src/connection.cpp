#include "connection.hpp"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "sluice/net/cluster_config.hpp"

namespace sluice::cli {
namespace {

/// http://HOST:PORT[/] → host and port; anything else is a usage error.
endpoint parse_url(const std::string& url) {
  const std::string scheme = "http://";
  const auto bad = [&](const std::string& why) {
    return cli_error(exit_code::usage,
                     fmt::format("--url {}: {} (expected http://HOST:PORT)", url, why));
  };
  if (url.rfind(scheme, 0) != 0)
    throw bad(url.rfind("https://", 0) == 0 ? "https is not served" : "not an http:// URL");
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.find('/') != std::string::npos)
    throw bad("a path is not expected");
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw bad("no port");
  endpoint e;
  e.host = rest.substr(0, colon);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
    e.host = e.host.substr(1, e.host.size() - 2);  // [::1]
  const std::string port = rest.substr(colon + 1);
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535)
    throw bad("the port must be a number in 1..65535");
  e.port = static_cast<uint16_t>(p);
  return e;
}

std::string read_token(const std::string& file) {
  std::ifstream in{file};
  if (!in)
    throw cli_error(exit_code::usage, fmt::format("--token-file {}: cannot read it", file));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r'))
    t.pop_back();
  if (t.empty())
    throw cli_error(exit_code::usage, fmt::format("--token-file {}: the file is empty", file));
  return t;
}

/// The node's HTTP endpoint from the cluster file, or why there is none.
std::string endpoint_of(const net::node_config& n, const std::string& file, endpoint& out) {
  if (n.http_port < 0)
    return fmt::format(
        "node {} has no http_port in {}: add `http_port = PORT` to its [[nodes]] entry, "
        "or use --url",
        n.name, file);
  if (n.http_port == 0)
    return fmt::format(
        "node {} has http_port 0 (an ephemeral port) in {}: use --url with the port it printed "
        "at start (http: serving on ...)",
        n.name, file);
  out = {n.name, n.host, static_cast<uint16_t>(n.http_port)};
  return {};
}

std::string error_field(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string())
    return j["error"].get<std::string>();
  std::string b = body;
  while (!b.empty() && (b.back() == '\n' || b.back() == '\r'))
    b.pop_back();
  return b;
}

}  // namespace

target resolve(const connection_options& o) {
  target t;
  if (!o.url.empty() && !o.cluster_file.empty())
    throw cli_error(exit_code::usage, "--url and --cluster exclude each other: give one");
  if (!o.node.empty() && o.cluster_file.empty())
    throw cli_error(exit_code::usage, "--node needs --cluster FILE");
  if (o.url.empty() && o.cluster_file.empty())
    throw cli_error(
        exit_code::usage,
        "say where the job is: --url http://HOST:PORT, or --cluster FILE [--node NAME]");
  if (!o.url.empty()) {
    t.main = parse_url(o.url);
  } else {
    net::cluster_config cc;
    try {
      cc = net::load_cluster_config(o.cluster_file);
    } catch (const net::config_error& e) {
      throw cli_error(exit_code::usage, e.what());
    }
    const std::string name = o.node.empty() ? cc.coordinator : o.node;
    const auto me = cc.index_of(name);
    if (!me) {
      std::string names;
      for (auto& n : cc.nodes)
        names += (names.empty() ? "" : ", ") + n.name;
      throw cli_error(exit_code::usage, fmt::format("{}: no node named '{}'; the nodes are: {}",
                                                    o.cluster_file, name, names));
    }
    if (auto why = endpoint_of(cc.nodes[*me], o.cluster_file, t.main); !why.empty())
      throw cli_error(exit_code::usage, why);
    for (size_t i = 0; i < cc.nodes.size(); ++i) {
      if (i == *me)
        continue;
      endpoint e;
      if (auto why = endpoint_of(cc.nodes[i], o.cluster_file, e); !why.empty())
        t.skipped.push_back(why);
      else
        t.others.push_back(e);
    }
    t.token = cc.secret;
  }
  if (!o.token_file.empty())
    t.token = read_token(o.token_file);
  return t;
}

void check(const endpoint& e, const std::string& method, const std::string& path,
           const net::http_result& r) {
  if (!r.answered())
    throw cli_error(exit_code::unreachable,
                    fmt::format("{} unreachable at {}: {}", e.who(), e.address(), r.error));
  if (r.status >= 200 && r.status < 300)
    return;
  const std::string why = error_field(r.body);
  switch (r.status) {
    case 401:
      throw cli_error(exit_code::unauthorized,
                      "401 unauthorized: the token was refused (use --cluster with the cluster "
                      "file, or --token-file)");
    case 403:
      throw cli_error(
          exit_code::unauthorized,
          fmt::format("403 forbidden: {} at {} takes no changes over HTTP ({}); an "
                      "embedded job takes them when started with --http-token-file FILE",
                      e.who(), e.address(), why));
    case 404:
      throw cli_error(exit_code::failed, fmt::format("404: {} at {} does not serve {} {} ({})",
                                                     e.who(), e.address(), method, path, why));
    case 409:
      throw cli_error(exit_code::failed, fmt::format("409 the job is not running: {}", why));
    default:
      throw cli_error(exit_code::failed,
                      fmt::format("{} {} {} at {}: {}", r.status, method, path, e.address(), why));
  }
}

nlohmann::json parse_json(const endpoint& e, const std::string& path, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw cli_error(exit_code::failed,
                    fmt::format("{} at {}: the answer to {} is not a JSON object: {}", e.who(),
                                e.address(), path, body.substr(0, 200)));
  return j;
}

net::http_result api::raw(const endpoint& e, const std::string& method, const std::string& path,
                          const std::string& token, std::chrono::milliseconds timeout) {
  return client_.request(method, e.host, e.port, path, token, timeout);
}

std::string api::get_text(const endpoint& e, const std::string& path) {
  auto r = raw(e, "GET", path, "", timeout_);
  check(e, "GET", path, r);
  return std::move(r.body);
}

nlohmann::json api::get_json(const endpoint& e, const std::string& path) {
  return parse_json(e, path, get_text(e, path));
}

nlohmann::json api::get_json_if_served(const endpoint& e, const std::string& path) {
  auto r = raw(e, "GET", path, "", timeout_);
  if (r.answered() && r.status == 404)
    return nullptr;
  check(e, "GET", path, r);
  return parse_json(e, path, r.body);
}

nlohmann::json api::post(const endpoint& e, const std::string& path, const std::string& token,
                         std::chrono::milliseconds timeout) {
  auto r = raw(e, "POST", path, token, timeout);
  check(e, "POST", path, r);
  return parse_json(e, path, r.body);
}

}  // namespace sluice::cli
