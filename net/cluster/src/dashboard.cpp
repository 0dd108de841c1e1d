// The dashboard's files: the page, its script and style sheet embedded at build time
// (web_assets.hpp), and Debian's d3 and Chart.js read from /usr/share/javascript.
#include "dashboard.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <string_view>

#include "web_assets.hpp"

namespace sluice {
namespace {

std::string_view content_type(std::string_view name) {
  if (name.ends_with(".html"))
    return "text/html; charset=utf-8";
  if (name.ends_with(".js"))
    return "text/javascript; charset=utf-8";
  if (name.ends_with(".css"))
    return "text/css; charset=utf-8";
  return "application/octet-stream";
}

std::optional<net::http_response> embedded(std::string_view name) {
  for (const web_asset& a : embedded_web_assets())
    if (a.name == name)
      return net::http_response{200, std::string{content_type(name)}, std::string{a.body}};
  return std::nullopt;
}

/// The library at `file`, or 404 saying which package provides it (the page shows the
/// message in its error list: the script tag fails and the panels report it).
net::http_response library(const std::filesystem::path& file, std::string_view package) {
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return {404, "text/plain; charset=utf-8",
            fmt::format("{} is not installed: the dashboard needs {} (Debian: apt-get install {}, "
                        "or scripts/setup.sh)\n",
                        file.string(), package, package)};
  std::ostringstream body;
  body << in.rdbuf();
  return {200, std::string{content_type(".js")}, std::move(body).str()};
}

}  // namespace

std::optional<net::http_response> dashboard_response(const std::string& path,
                                                     const dashboard_libraries& libs) {
  if (path == "/" || path == "/index.html")
    return embedded("index.html");
  if (path == "/dashboard.js" || path == "/dashboard.css")
    return embedded(std::string_view{path}.substr(1));
  if (path == "/static/d3.min.js")
    return library(libs.d3, "libjs-d3");
  if (path == "/static/chart.min.js")
    return library(libs.chart_js, "libjs-chart.js");
  return std::nullopt;
}

}  // namespace sluice
