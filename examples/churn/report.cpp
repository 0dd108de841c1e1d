// The churn job's report: one self-contained HTML page (Chart.js inlined, the
// data as JSON in a <script type="application/json">, the charts built from it
// in the page) and a plain-text summary. Everything is a function of the data:
// no clock, no locale, no hash-map order, so the same data gives the same bytes.
#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

#ifndef CHURN_CHART_JS
#error "CHURN_CHART_JS must name Chart.js (examples/churn/CMakeLists.txt defines it)"
#endif

namespace churn {

std::filesystem::path default_chart_js() {
  return CHURN_CHART_JS;
}

namespace {

constexpr size_t histogram_bins = 20;
constexpr size_t top_chart_rows = 20;    // bars of the top-risk chart
constexpr size_t top_table_rows = 100;   // rows of the top-risk table
constexpr size_t group_chart_rows = 30;  // groups per chart, by share (Berka has 77 districts)
constexpr size_t summary_risks = 10;
constexpr size_t summary_auc_lines = 6;

// ---- text: UTF-8, escaping, numbers, dates ----

constexpr uint32_t replacement_char = 0xFFFD;

/// Calls `f(code_point)` for each code point of `s`. Each byte that does not
/// start a valid UTF-8 sequence (stray continuation, overlong form, surrogate,
/// truncated, above U+10FFFF) gives one U+FFFD, so any bytes make valid text.
template <class F>
void for_each_code_point(std::string_view s, F f) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
      cp = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      cp = b & 0x0Fu;
      lo = b == 0xE0 ? 0xA0 : lo;
      hi = b == 0xED ? 0x9F : hi;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      cp = b & 0x07u;
      lo = b == 0xF0 ? 0x90 : lo;
      hi = b == 0xF4 ? 0x8F : hi;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = c >= (k == 1 ? lo : 0x80u) && c <= (k == 1 ? hi : 0xBFu);
      cp = (cp << 6) | (c & 0x3Fu);
    }
    f(ok ? cp : replacement_char);
    i += ok ? len : 1;
  }
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_control(uint32_t cp) {
  return (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp < 0xA0);
}

/// `s` as HTML text or attribute value.
std::string html(std::string_view s) {
  constexpr std::string_view special = "&<>\"'";
  constexpr std::array<std::string_view, 5> entity = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
  std::string out;
  for_each_code_point(s, [&](uint32_t cp) {
    const size_t k = cp < 0x80 ? special.find(static_cast<char>(cp)) : special.npos;
    if (k != special.npos)
      out += entity[k];
    else
      append_utf8(out, is_control(cp) ? replacement_char : cp);
  });
  return out;
}

/// Appends `s` as a JSON string. '<', '>' and '&' are escaped too, so no
/// string can close the <script> element holding the JSON ("</script>") or
/// open a comment in it ("<!--").
void json_string(std::string& out, std::string_view s) {
  out += '"';
  for_each_code_point(s, [&](uint32_t cp) {
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 || cp == 0x2029) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", cp);
    } else {
      append_utf8(out, cp);
    }
  });
  out += '"';
}

/// Appends `x` as a JSON number: the shortest text that reads back as `x`;
/// null for NaN and infinities (JSON has neither; Chart.js draws a gap).
void json_number(std::string& out, double x) {
  if (std::isfinite(x))
    fmt::format_to(std::back_inserter(out), "{}", x);
  else
    out += "null";
}

/// One line for the console: control characters (line breaks, terminal escapes)
/// become '?', invalid UTF-8 U+FFFD.
std::string console(std::string_view s) {
  std::string out;
  for_each_code_point(
      s, [&](uint32_t cp) { append_utf8(out, cp < 0x20 || is_control(cp) ? uint32_t{'?'} : cp); });
  return out;
}

size_t display_width(std::string_view s) {
  size_t n = 0;
  for_each_code_point(s, [&](uint32_t) { ++n; });
  return n;
}

/// 1234567 -> "1,234,567", without the locale.
std::string grouped(uint64_t n) {
  std::string s = fmt::format("{}", n);
  for (size_t i = s.size(); i > 3; i -= 3)
    s.insert(i - 3, 1, ',');
  return s;
}

std::string fixed(double x, int decimals) {
  return std::isfinite(x) ? fmt::format("{:.{}f}", x, decimals) : std::string("n/a");
}

/// 1234567.25 -> "1,234,567.3" (1 decimal), without the locale.
std::string grouped(double x, int decimals) {
  std::string s = fixed(x, decimals);
  if (!std::isfinite(x))
    return s;
  const size_t digits = s.find_first_of("0123456789");
  const size_t point = std::min(s.find('.'), s.size());
  for (size_t i = point; i > digits + 3; i -= 3)
    s.insert(i - 3, 1, ',');
  return s;
}

/// "YYYY-MM-DD" of a day number (days since 1970-01-01; years 1-9999 from day_number).
std::string iso_day(int64_t day_number) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day_number}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

/// "YYYY-MM-DD HH:MM:SS" (UTC); "" for 0 (unknown); "<ms> ms" outside years 1-9999.
std::string utc_time(int64_t ms) {
  using namespace std::chrono;
  constexpr int64_t first = -62135596800000, last = 253402300799999;
  if (ms == 0)
    return {};
  if (ms < first || ms > last)
    return fmt::format("{} ms", ms);
  const sys_time<milliseconds> t{milliseconds{ms}};
  const auto day = floor<days>(t);
  const hh_mm_ss hms{floor<seconds>(t - day)};
  return fmt::format("{} {:02}:{:02}:{:02}", iso_day(day.time_since_epoch().count()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

/// Days since 1970-01-01 of a valid "YYYY-MM-DD".
std::optional<int64_t> day_number(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-')
    return std::nullopt;
  auto field = [&](size_t pos, size_t len) -> std::optional<int> {
    int v = 0;
    const char* end = s.data() + pos + len;
    for (size_t i = pos; i < pos + len; ++i)
      if (s[i] < '0' || s[i] > '9')
        return std::nullopt;
    if (std::from_chars(s.data() + pos, end, v).ptr != end)
      return std::nullopt;
    return v;
  };
  const auto y = field(0, 4), m = field(5, 2), d = field(8, 2);
  if (!y || !m || !d)
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*y},
                                        std::chrono::month{static_cast<unsigned>(*m)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok())
    return std::nullopt;
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

// ---- what the charts show, derived from report_data ----

struct histogram {
  std::array<uint64_t, histogram_bins> counts{};
  uint64_t scored = 0;
  uint64_t invalid = 0;  // NaN or outside [0, 1]: not in a bin
};

/// The groups of one kind, highest share of high-risk customers first.
struct group_chart {
  std::string kind;
  std::vector<const group_risk*> rows;  // at most group_chart_rows
  size_t total = 0;                     // groups of this kind
};

/// The alerts of one source per day (days since the epoch, summed).
struct alert_chart {
  std::string source;
  std::map<int64_t, uint64_t> per_day;
  uint64_t total = 0;
  uint64_t invalid = 0;  // rows whose day is not a valid YYYY-MM-DD
};

struct derived {
  histogram scores;
  std::vector<group_chart> groups;
  std::vector<alert_chart> alerts;
};

double share(const group_risk& g) {
  return g.population == 0 ? 0.0
                           : static_cast<double>(g.high_risk) / static_cast<double>(g.population);
}

derived derive(const report_data& d) {
  derived r;
  for (float s : d.churn_scores) {
    if (!(s >= 0.0f && s <= 1.0f)) {
      ++r.scores.invalid;
      continue;
    }
    const auto bin = static_cast<size_t>(static_cast<double>(s) * histogram_bins);
    ++r.scores.counts[std::min(bin, histogram_bins - 1)];
    ++r.scores.scored;
  }
  // Kinds and sources in order of first appearance.
  for (const auto& g : d.groups) {
    auto it = std::find_if(r.groups.begin(), r.groups.end(),
                           [&](const group_chart& c) { return c.kind == g.kind; });
    if (it == r.groups.end())
      it = r.groups.insert(r.groups.end(), group_chart{g.kind, {}, 0});
    it->rows.push_back(&g);
  }
  for (auto& c : r.groups) {
    std::stable_sort(c.rows.begin(), c.rows.end(), [](const group_risk* a, const group_risk* b) {
      const double sa = share(*a), sb = share(*b);
      if (sa != sb)
        return sa > sb;
      if (a->population != b->population)
        return a->population > b->population;
      return a->group < b->group;
    });
    c.total = c.rows.size();
    c.rows.resize(std::min(c.rows.size(), group_chart_rows));
  }
  for (const auto& a : d.alerts_per_day) {
    auto it = std::find_if(r.alerts.begin(), r.alerts.end(),
                           [&](const alert_chart& c) { return c.source == a.source; });
    if (it == r.alerts.end())
      it = r.alerts.insert(r.alerts.end(), alert_chart{a.source, {}, 0, 0});
    if (auto day = day_number(a.day)) {
      it->per_day[*day] += a.count;
      it->total += a.count;
    } else {
      ++it->invalid;
    }
  }
  return r;
}

// ---- the page ----

/// The data the charts are built from, as JSON.
std::string data_json(const report_data& d, const derived& v) {
  std::string o;
  auto out = std::back_inserter(o);
  o += "{\"histogram\":[";
  for (size_t i = 0; i < histogram_bins; ++i)
    fmt::format_to(out, "{}{}", i ? "," : "", v.scores.counts[i]);
  o += "],\n\"auc\":[";
  for (size_t i = 0; i < d.auc_over_time.size(); ++i) {
    const auto& p = d.auc_over_time[i];
    fmt::format_to(out, "{}{{\"x\":{},\"y\":", i ? ",\n" : "", p.labels_seen);
    json_number(o, p.auc);
    fmt::format_to(out, ",\"trained\":{},\"held_out\":{},\"time\":", p.trained_on,
                   p.held_out_scored);
    json_string(o, utc_time(p.ts_ms));
    o += '}';
  }
  o += "],\n\"top\":[";
  for (size_t i = 0; i < std::min(d.top_risk.size(), top_chart_rows); ++i) {
    const auto& r = d.top_risk[i];
    o += i ? ",\n{\"customer\":" : "{\"customer\":";
    json_string(o, r.customer);
    o += ",\"source\":";
    json_string(o, r.source);
    o += ",\"score\":";
    json_number(o, r.score);
    o += '}';
  }
  o += "],\n\"groups\":[";
  for (size_t i = 0; i < v.groups.size(); ++i) {
    o += i ? ",\n{\"kind\":" : "{\"kind\":";
    json_string(o, v.groups[i].kind);
    o += ",\"rows\":[";
    for (size_t k = 0; k < v.groups[i].rows.size(); ++k) {
      const auto& g = *v.groups[i].rows[k];
      o += k ? ",\n{\"group\":" : "{\"group\":";
      json_string(o, g.group);
      fmt::format_to(out, ",\"population\":{},\"high_risk\":{},\"share\":", g.population,
                     g.high_risk);
      json_number(o, share(g));
      o += ",\"mean\":";
      json_number(o, g.mean_score);
      o += '}';
    }
    o += "]}";
  }
  o += "],\n\"alerts\":[";
  for (size_t i = 0; i < v.alerts.size(); ++i) {
    o += i ? ",\n{\"source\":" : "{\"source\":";
    json_string(o, v.alerts[i].source);
    o += ",\"days\":[";
    bool first = true;
    for (const auto& [day, n] : v.alerts[i].per_day) {
      fmt::format_to(out, "{}{{\"x\":{},\"y\":{}}}", first ? "" : ",", day, n);
      first = false;
    }
    o += "]}";
  }
  o += "]}";
  return o;
}

constexpr std::string_view page_style = R"css(
body { font: 14px/1.4 system-ui, sans-serif; color: #1f2937; max-width: 1300px; margin: 0 auto; padding: 16px 24px; }
h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #d1d5db; } h3 { font-size: 15px; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.fact { border: 1px solid #d1d5db; border-radius: 6px; padding: 8px 12px; }
.fact dt { color: #6b7280; font-size: 12px; } .fact dd { margin: 0; font-size: 20px; font-weight: 600; }
.chart { position: relative; width: 100%; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; } .pair > section { min-width: 0; }
.note, .nodata { color: #6b7280; } .nodata { font-style: italic; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 3px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#errors { color: #b91c1c; background: #fef2f2; padding: 8px; white-space: pre-wrap; }
)css";

// Runs before Chart.js: records every error (also those of Chart.js itself).
constexpr std::string_view error_script = R"js(
window.churnErrors = [];
function churnReportError(message) {
  window.churnErrors.push(String(message));
  function show() {
    document.body.dataset.status = 'error';
    var el = document.getElementById('errors');
    el.textContent = window.churnErrors.join('\n');
    el.hidden = false;
  }
  if (document.getElementById('errors')) show(); else document.addEventListener('DOMContentLoaded', show);
}
window.onerror = function (message, source, line, column, error) {
  churnReportError((error && error.stack) || (message + ' (' + source + ':' + line + ':' + column + ')'));
};
window.addEventListener('unhandledrejection', function (e) {
  churnReportError('unhandled rejection: ' + ((e.reason && e.reason.stack) || e.reason));
});
)js";

// Builds one chart per <canvas data-chart=KIND data-index=I> from the JSON data.
constexpr std::string_view chart_script = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var colors = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'];
  function day(x) { return new Date(x * 864e5).toISOString().slice(0, 10); }
  // Ticks of a day axis on the first of every month, quarter or year.
  function calendarTicks(scale) {
    var span = scale.max - scale.min, step = span > 3 * 365 ? 12 : span > 365 ? 3 : 1, ticks = [];
    var start = new Date(Math.ceil(scale.min) * 864e5);
    var k = Math.floor((start.getUTCFullYear() * 12 + start.getUTCMonth()) / step) * step;
    for (;; k += step) {
      var t = Date.UTC(Math.floor(k / 12), k % 12, 1) / 864e5;
      if (t > scale.max) break;
      if (t >= scale.min) ticks.push({ value: t });
    }
    if (ticks.length >= 2) scale.ticks = ticks;
  }
  function axis(text, more) { return Object.assign({ title: { display: true, text: text } }, more || {}); }
  function horizontalBars(labels, values, color, xAxis, tooltip) {
    return { type: 'bar',
      data: { labels: labels, datasets: [{ data: values, backgroundColor: color }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false }, tooltip: { callbacks: tooltip } },
        scales: { x: xAxis, y: { ticks: { autoSkip: false } } } } };
  }
  var build = {
    histogram: function () {
      var n = data.histogram.length, labels = [];
      for (var i = 0; i < n; i++) labels.push((i / n).toFixed(2) + '–' + ((i + 1) / n).toFixed(2));
      return { type: 'bar',
        data: { labels: labels, datasets: [{ label: 'customers', data: data.histogram, backgroundColor: colors[0],
          barPercentage: 1, categoryPercentage: 0.95 }] },
        options: { plugins: { legend: { display: false } },
          scales: { x: axis('churn score', { ticks: { maxRotation: 0,
              callback: function (value, index) { return (index / n).toFixed(2); } } }),
            y: axis('customers', { beginAtZero: true }) } } };
    },
    auc: function () {
      return { type: 'line',
        data: { datasets: [{ label: 'held-out AUC', data: data.auc, borderColor: colors[0],
          backgroundColor: colors[0], pointRadius: data.auc.length > 60 ? 0 : 3, spanGaps: false }] },
        options: { plugins: { legend: { display: false }, tooltip: { callbacks: {
            title: function (items) { return items[0].raw.x + ' labels seen'; },
            afterLabel: function (item) {
              var p = item.raw;
              return 'trained on ' + p.trained + ', held-out scored ' + p.held_out + (p.time ? '\n' + p.time : '');
            } } } },
          scales: { x: axis('labels seen', { type: 'linear' }),
            y: axis('AUC', { suggestedMin: 0.5, suggestedMax: 1 }) } } };
    },
    top: function () {
      return horizontalBars(
        data.top.map(function (r) { return r.customer; }), data.top.map(function (r) { return r.score; }),
        colors[1], axis('churn score', { min: 0, max: 1 }),
        { afterLabel: function (item) { return data.top[item.dataIndex].source; } });
    },
    group: function (i) {
      var rows = data.groups[i].rows;
      return horizontalBars(
        rows.map(function (r) { return r.group; }), rows.map(function (r) { return 100 * r.share; }),
        colors[(i + 2) % colors.length], axis('high-risk customers (%)', { beginAtZero: true }),
        { label: function (item) { return item.parsed.x.toFixed(1) + ' % high risk'; },
          afterLabel: function (item) {
            var r = rows[item.dataIndex];
            return r.high_risk + ' of ' + r.population + ', mean score ' + (r.mean === null ? 'n/a' : r.mean.toFixed(3));
          } });
    },
    alerts: function (i) {
      var days = data.alerts[i].days;
      return { type: 'bar',
        data: { datasets: [{ label: data.alerts[i].source, data: days,
          backgroundColor: colors[(i + 4) % colors.length], barPercentage: 1, categoryPercentage: 1,
          minBarLength: 2 }] },
        options: { plugins: { legend: { display: false }, tooltip: { callbacks: {
            title: function (items) { return day(items[0].raw.x); } } } },
          scales: { x: axis('day', { type: 'linear', offset: false, min: days[0].x - 1, max: days[days.length - 1].x + 1,
              afterBuildTicks: calendarTicks, ticks: { callback: day, maxRotation: 0 } }),
            y: axis('alerts', { beginAtZero: true }) } } };
    }
  };
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var made = 0;
  document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    var kind = canvas.dataset.chart;
    try {
      var chart = new Chart(canvas, build[kind](Number(canvas.dataset.index)));
      if (!chart.ctx) throw new Error('no 2d context');
      made++;
    } catch (e) {
      churnReportError('chart ' + kind + ' ' + canvas.dataset.index + ': ' + ((e && e.stack) || e));
    }
  });
  document.body.dataset.charts = String(made);
  if (window.churnErrors.length === 0) document.body.dataset.status = 'rendered';
})();
)js";

void chart(std::string& o, std::string_view kind, size_t index, size_t height_px,
           std::string_view label) {
  fmt::format_to(std::back_inserter(o),
                 "<div class=\"chart\" style=\"height:{}px\"><canvas data-chart=\"{}\" "
                 "data-index=\"{}\" role=\"img\" aria-label=\"{}\"></canvas></div>\n",
                 height_px, kind, index, html(label));
}

void note(std::string& o, std::string_view text) {
  o += "<p class=\"note\">" + html(text) + "</p>\n";
}

constexpr std::string_view no_data = "<p class=\"nodata\">no data</p>\n";

void facts_section(std::string& o, const report_data& d) {
  o += "<section id=\"facts\">\n<h2>Headline figures</h2>\n";
  if (d.facts.empty()) {
    o += no_data;
  } else {
    o += "<dl class=\"facts\">\n";
    for (const auto& [name, value] : d.facts)
      o += "<div class=\"fact\"><dt>" + html(name) + "</dt><dd>" + html(value) + "</dd></div>\n";
    o += "</dl>\n";
  }
  o += "</section>\n";
}

void scores_section(std::string& o, const report_data& d, const histogram& h) {
  o += "<section id=\"scores\">\n<h2>Churn score distribution</h2>\n";
  if (d.churn_scores.empty()) {
    o += no_data;
  } else {
    note(o, fmt::format("The latest score of {} customers, {} bins over [0, 1].", grouped(h.scored),
                        histogram_bins));
    if (h.invalid)
      note(o, fmt::format("{} scores were NaN or outside [0, 1] and are not shown.",
                          grouped(h.invalid)));
    chart(o, "histogram", 0, 320, "histogram of churn scores");
  }
  o += "</section>\n";
}

void auc_section(std::string& o, const report_data& d) {
  o += "<section id=\"auc\">\n<h2>Held-out AUC over time</h2>\n";
  if (d.auc_over_time.empty()) {
    o += no_data;
  } else {
    const auto& last = d.auc_over_time.back();
    note(o, fmt::format("{} evaluations; the latest: AUC {} after {} labels.",
                        d.auc_over_time.size(), fixed(last.auc, 3), grouped(last.labels_seen)));
    chart(o, "auc", 0, 320, "held-out AUC over labels seen");
  }
  o += "</section>\n";
}

void top_risk_chart_section(std::string& o, const report_data& d) {
  o += "<section id=\"top-risk\">\n<h2>Top-risk customers</h2>\n";
  if (d.top_risk.empty()) {
    o += no_data;
  } else {
    const size_t bars = std::min(d.top_risk.size(), top_chart_rows);
    note(o, fmt::format("The {} highest churn scores; every row in the table below.", bars));
    chart(o, "top", 0, 60 + 20 * bars, fmt::format("churn score of the top {} customers", bars));
  }
  o += "</section>\n";
}

void groups_section(std::string& o, const std::vector<group_chart>& groups) {
  o += "<section id=\"groups\">\n<h2>Risk per group</h2>\n";
  if (groups.empty())
    o += no_data;
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    o += "<h3>Share of high-risk customers per " + html(g.kind) + "</h3>\n";
    note(o, g.rows.size() < g.total
                ? fmt::format("The {} of {} groups with the highest share.", g.rows.size(), g.total)
                : fmt::format("{} groups, highest share first.", g.total));
    chart(o, "group", i, 60 + 18 * g.rows.size(), "share of high-risk customers per " + g.kind);
  }
  o += "</section>\n";
}

void alerts_section(std::string& o, const std::vector<alert_chart>& alerts) {
  o += "<section id=\"alerts\">\n<h2>Alerts per day</h2>\n";
  if (alerts.empty())
    o += no_data;
  for (size_t i = 0; i < alerts.size(); ++i) {
    const auto& a = alerts[i];
    o += "<h3>" + html(a.source) + "</h3>\n";
    if (a.invalid)
      note(o, fmt::format("{} rows with a day that is not YYYY-MM-DD are not shown.", a.invalid));
    if (a.per_day.empty()) {
      o += no_data;
      continue;
    }
    note(o, fmt::format("{} alerts on {} days, {} to {}.", grouped(a.total), a.per_day.size(),
                        iso_day(a.per_day.begin()->first), iso_day(a.per_day.rbegin()->first)));
    chart(o, "alerts", i, 260, "alerts per day of " + a.source);
  }
  o += "</section>\n";
}

/// The table of the top-risk rows; nothing when there are none (the chart
/// section says so).
void top_risk_table_section(std::string& o, const report_data& d) {
  if (d.top_risk.empty())
    return;
  o += "<section id=\"top-risk-table\">\n<h2>Top-risk customers in detail</h2>\n";
  const size_t rows = std::min(d.top_risk.size(), top_table_rows);
  if (rows < d.top_risk.size())
    note(o, fmt::format("The first {} of {} rows.", rows, d.top_risk.size()));
  o += "<table>\n<tr><th class=\"num\">#</th><th>customer</th><th>source</th>"
       "<th class=\"num\">score</th><th>reason</th><th>details</th><th>time (UTC)</th></tr>\n";
  for (size_t i = 0; i < rows; ++i) {
    const auto& r = d.top_risk[i];
    o += fmt::format(
        "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>\n",
        i + 1, html(r.customer), html(r.source), fixed(r.score, 3), html(r.reason), html(r.details),
        utc_time(r.ts_ms));
  }
  o += "</table>\n</section>\n";
}

void stages_section(std::string& o, const report_data& d) {
  o += "<section id=\"stages\">\n<h2>Stages</h2>\n";
  if (d.stages.empty()) {
    o += no_data;
  } else {
    o += "<table>\n<tr><th>stage</th><th class=\"num\">records</th>"
         "<th class=\"num\">records/s</th></tr>\n";
    for (const auto& s : d.stages)
      o += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                       html(s.stage), grouped(s.records), grouped(s.records_per_s, 1));
    o += "</table>\n";
  }
  o += "</section>\n";
}

std::string render_page(const report_data& d, std::string_view chart_js) {
  const derived v = derive(d);
  std::string o;
  o.reserve(chart_js.size() + 64 * 1024);
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  o += "<title>" + html(d.title) + "</title>\n<style>";
  o += page_style;
  o += "</style>\n<script>";
  o += error_script;
  o += "</script>\n<script>\n";
  o += chart_js;
  o += "\n</script>\n</head>\n<body data-status=\"loading\" data-charts=\"0\">\n";
  o += "<h1>" + html(d.title) + "</h1>\n<pre id=\"errors\" hidden></pre>\n";
  // Charts first (they fit a 1400x3000 screenshot), then the tables.
  facts_section(o, d);
  o += "<div class=\"pair\">\n";
  scores_section(o, d, v.scores);
  auc_section(o, d);
  o += "</div>\n";
  top_risk_chart_section(o, d);
  groups_section(o, v.groups);
  alerts_section(o, v.alerts);
  top_risk_table_section(o, d);
  stages_section(o, d);

  o += "<script type=\"application/json\" id=\"report-data\">";
  o += data_json(d, v);
  o += "</script>\n<script>";
  o += chart_script;
  o += "</script>\n</body>\n</html>\n";
  return o;
}

[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path, int err) {
  throw std::runtime_error(fmt::format("churn report: {} '{}': {}", what, path.string(),
                                       std::generic_category().message(err)));
}

std::string read_chart_js(const std::filesystem::path& path) {
  constexpr std::string_view hint =
      " (Debian's libjs-chart.js provides it: apt-get install libjs-chart.js)";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw std::runtime_error(fmt::format("churn report: cannot read Chart.js from '{}': {}{}",
                                         path.string(), std::generic_category().message(errno),
                                         hint));
  std::string text;
  std::array<char, 64 * 1024> buf;
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0)
    text.append(buf.data(), n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err)
    throw std::runtime_error(fmt::format("churn report: cannot read Chart.js from '{}': {}{}",
                                         path.string(), std::generic_category().message(err),
                                         hint));
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  if (text.empty() || lower.find("</script") != std::string::npos ||
      lower.find("<!--") != std::string::npos)
    throw std::runtime_error(
        fmt::format("churn report: '{}' cannot be inlined in a <script> element (empty, or holds "
                    "\"</script\" or \"<!--\")",
                    path.string()));
  return text;
}

}  // namespace

void write_html_report(const report_data& d, const std::filesystem::path& out,
                       const std::filesystem::path& chart_js) {
  const std::string page = render_page(d, read_chart_js(chart_js));
  std::filesystem::path tmp = out;
  tmp += ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    fail("cannot write", out, errno);
  const bool written = std::fwrite(page.data(), 1, page.size(), f) == page.size();
  int err = written ? 0 : errno;
  if (std::fclose(f) != 0 && err == 0)
    err = errno;
  std::error_code ec;
  if (err == 0) {
    std::filesystem::rename(tmp, out, ec);
    err = ec.value();
  }
  if (err != 0) {
    std::filesystem::remove(tmp, ec);
    fail("cannot write", out, err);
  }
}

namespace {

/// Columns padded to their widest cell; `align` holds 'l' or 'r' per column.
std::string text_table(const std::vector<std::vector<std::string>>& rows, std::string_view align) {
  std::vector<size_t> width(align.size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c)
      width[c] = std::max(width[c], display_width(r[c]));
  std::string o;
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      const std::string pad(width[c] - display_width(r[c]), ' ');
      line += "  ";
      line += align[c] == 'r' ? pad + r[c] : r[c] + pad;
    }
    line.erase(line.find_last_not_of(' ') + 1);
    o += line + '\n';
  }
  return o;
}

}  // namespace

std::string text_summary(const report_data& d) {
  std::string o = console(d.title.empty() ? std::string("Churn report") : d.title) + "\n";
  if (d.facts.empty()) {
    o += "  (no facts)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [name, value] : d.facts)
      rows.push_back({console(name), console(value)});
    o += text_table(rows, "ll");
  }

  o += "\nStages\n";
  if (d.stages.empty()) {
    o += "  (no data)\n";
  } else {
    std::vector<std::vector<std::string>> rows{{"stage", "records", "records/s"}};
    for (const auto& s : d.stages)
      rows.push_back({console(s.stage), grouped(s.records), grouped(s.records_per_s, 1)});
    o += text_table(rows, "lrr");
  }

  const size_t risks = std::min(d.top_risk.size(), summary_risks);
  o += fmt::format("\nTop {} risks\n", risks);
  if (risks == 0) {
    o += "  (no data)\n";
  } else {
    std::vector<std::vector<std::string>> rows{{"#", "score", "customer", "source", "reason"}};
    for (size_t i = 0; i < risks; ++i) {
      const auto& r = d.top_risk[i];
      rows.push_back({fmt::format("{}", i + 1), fixed(r.score, 3), console(r.customer),
                      console(r.source), console(r.reason)});
    }
    o += text_table(rows, "rrlll");
  }

  o += "\nHeld-out AUC\n";
  const auto& auc = d.auc_over_time;
  if (auc.empty()) {
    o += "  (no data)\n";
  } else {
    // A few evenly spaced evaluations, always the first and the latest.
    std::vector<std::vector<std::string>> rows{{"labels seen", "trained on", "held-out", "AUC"}};
    const size_t lines = std::min(auc.size(), summary_auc_lines);
    for (size_t k = 0; k < lines; ++k) {
      const auto& p = auc[lines == 1 ? auc.size() - 1 : k * (auc.size() - 1) / (lines - 1)];
      rows.push_back({grouped(p.labels_seen), grouped(p.trained_on), grouped(p.held_out_scored),
                      fixed(p.auc, 3)});
    }
    o += text_table(rows, "rrrr");
  }
  return o;
}

}  // namespace churn
