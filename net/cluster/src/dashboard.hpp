#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "sluice/net/http_server.hpp"

namespace sluice {

/// Where the dashboard finds the browser libraries it serves under /static/: Debian's
/// packages (libjs-d3, d3 3.5.17; libjs-chart.js, Chart.js 3.9.1), read at request time.
struct dashboard_libraries {
  std::filesystem::path d3 = "/usr/share/javascript/d3/d3.min.js";
  std::filesystem::path chart_js = "/usr/share/javascript/chart.js/chart.min.js";
};

/// The answer to GET `path` when it is part of the dashboard (docs/operations.md,
/// "Dashboard"): `/` and `/index.html` (the page), `/dashboard.js`, `/dashboard.css` (embedded
/// from net/cluster/web/), `/static/d3.min.js` and `/static/chart.min.js` (from `libs`; 404
/// naming the Debian package when the file is missing). std::nullopt for any other path.
/// Called by the HTTP endpoint on the event loop's thread; reads no shared state.
std::optional<net::http_response> dashboard_response(const std::string& path,
                                                     const dashboard_libraries& libs = {});

}  // namespace sluice
