#include "sluice/actors/restart_strategy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace sluice::actors {

std::string format_duration(duration d) {
  const int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0)
    return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0)
    return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

duration parse_duration(std::string_view s) {
  const auto bad = [&](const char* why) {
    return std::invalid_argument("duration '" + std::string(s) + "': " + why);
  };
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec == std::errc::result_out_of_range)
    throw bad("too large");
  if (ec != std::errc{} || n < 0)
    throw bad("expected a whole number followed by ms, s, m or h");
  const std::string_view unit(p, static_cast<size_t>(s.data() + s.size() - p));
  int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit.empty())
    throw bad("missing unit (ms, s, m or h)");
  else
    throw bad("unknown unit (expected ms, s, m or h)");
  if (n > std::numeric_limits<int64_t>::max() / scale)
    throw bad("too large");
  return duration{n * scale};
}

fixed_delay::fixed_delay(uint32_t attempts, duration delay) : attempts_(attempts), delay_(delay) {
  if (delay.count() < 0)
    throw std::invalid_argument("fixed-delay: delay must not be negative");
}

restart_decision fixed_delay::on_failure(timestamp) {
  if (used_ >= attempts_)
    return restart_decision::give_up("fixed delay: " + std::to_string(attempts_) +
                                     " attempts used");
  ++used_;
  return restart_decision::after(delay_);
}

std::string fixed_delay::describe() const {
  return "fixed-delay:attempts=" + std::to_string(attempts_) + ",delay=" + format_duration(delay_);
}

exponential_backoff::exponential_backoff(duration initial, duration max, double multiplier,
                                         duration reset_after, std::optional<uint32_t> max_attempts)
    : initial_(initial),
      max_(max),
      multiplier_(multiplier),
      reset_after_(reset_after),
      max_attempts_(max_attempts),
      next_(initial) {
  if (initial.count() <= 0)
    throw std::invalid_argument("exponential: initial must be positive");
  if (max < initial)
    throw std::invalid_argument("exponential: max (" + format_duration(max) +
                                ") is less than initial (" + format_duration(initial) + ")");
  if (!std::isfinite(multiplier) || multiplier < 1.0)
    throw std::invalid_argument("exponential: multiplier must be a number of at least 1");
  if (reset_after.count() <= 0)
    throw std::invalid_argument("exponential: reset must be positive");
}

restart_decision exponential_backoff::on_failure(timestamp now) {
  if (restarted_ && now.ms - restarted_->ms >= reset_after_.count()) {
    next_ = initial_;
    attempts_ = 0;
  }
  if (max_attempts_ && attempts_ >= *max_attempts_)
    return restart_decision::give_up("exponential backoff: " + std::to_string(*max_attempts_) +
                                     " attempts used since the last reset");
  const duration d = next_;
  ++attempts_;
  restarted_ = now + d;
  const double grown = static_cast<double>(d.count()) * multiplier_;
  next_ = grown >= static_cast<double>(max_.count()) ? max_ : duration{static_cast<int64_t>(grown)};
  return restart_decision::after(d);
}

std::string exponential_backoff::describe() const {
  char m[32];
  auto r = std::to_chars(m, m + sizeof m, multiplier_);
  std::string s = "exponential:initial=" + format_duration(initial_) +
                  ",max=" + format_duration(max_) + ",multiplier=" + std::string(m, r.ptr) +
                  ",reset=" + format_duration(reset_after_);
  if (max_attempts_)
    s += ",attempts=" + std::to_string(*max_attempts_);
  return s;
}

failure_rate::failure_rate(uint32_t max_failures, duration interval, duration delay)
    : max_(max_failures), interval_(interval), delay_(delay) {
  if (interval.count() <= 0)
    throw std::invalid_argument("failure-rate: interval must be positive");
  if (delay.count() < 0)
    throw std::invalid_argument("failure-rate: delay must not be negative");
}

restart_decision failure_rate::on_failure(timestamp now) {
  // The window is (now - interval, now]: a failure exactly one interval ago has left it.
  while (!failures_.empty() && failures_.front().ms <= now.ms - interval_.count())
    failures_.pop_front();
  failures_.push_back(now);
  if (failures_.size() > max_)
    return restart_decision::give_up("failure rate: " + std::to_string(failures_.size()) +
                                     " failures within " + format_duration(interval_) +
                                     " (at most " + std::to_string(max_) + " allowed)");
  return restart_decision::after(delay_);
}

std::string failure_rate::describe() const {
  return "failure-rate:max=" + std::to_string(max_) + ",interval=" + format_duration(interval_) +
         ",delay=" + format_duration(delay_);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// key=value pairs of one strategy, checked against the keys it accepts.
class restart_params {
public:
  restart_params(std::string_view strategy, std::string_view text,
                 std::vector<std::string_view> keys)
      : strategy_(strategy), keys_(std::move(keys)) {
    std::string expected;
    for (auto k : keys_)
      expected += (expected.empty() ? "" : ", ") + std::string(k);
    while (true) {
      const size_t comma = text.find(',');
      const std::string_view item = trim(text.substr(0, comma));
      if (item.empty())
        throw std::invalid_argument("empty parameter (expected key=value)");
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos)
        throw std::invalid_argument("parameter '" + std::string(item) + "' is not key=value");
      const auto key = trim(item.substr(0, eq));
      const auto value = trim(item.substr(eq + 1));
      if (std::find(keys_.begin(), keys_.end(), key) == keys_.end())
        throw std::invalid_argument("unknown parameter '" + std::string(key) + "' for " +
                                    std::string(strategy_) + " (expected " + expected + ")");
      for (auto& [k, v] : values_)
        if (k == key)
          throw std::invalid_argument("parameter '" + std::string(key) + "' given twice");
      if (value.empty())
        throw std::invalid_argument("parameter '" + std::string(key) + "' has no value");
      values_.emplace_back(key, value);
      if (comma == std::string_view::npos)
        break;
      text.remove_prefix(comma + 1);
    }
  }

  std::optional<std::string_view> get(std::string_view key) const {
    for (auto& [k, v] : values_)
      if (k == key)
        return v;
    return std::nullopt;
  }

  std::string_view required(std::string_view key) const {
    if (auto v = get(key))
      return *v;
    throw std::invalid_argument(std::string(strategy_) + " needs parameter '" + std::string(key) +
                                "'");
  }

  duration time(std::string_view key) const {
    return named(key, [](std::string_view v) { return parse_duration(v); });
  }
  std::optional<duration> time_or(std::string_view key) const {
    if (!get(key))
      return std::nullopt;
    return time(key);
  }

  uint32_t count(std::string_view key) const {
    return named(key, [&](std::string_view v) {
      uint32_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc{} || p != v.data() + v.size())
        throw std::invalid_argument("'" + std::string(v) + "' is not a whole number");
      return n;
    });
  }
  std::optional<uint32_t> count_or(std::string_view key) const {
    if (!get(key))
      return std::nullopt;
    return count(key);
  }

  std::optional<double> number_or(std::string_view key) const {
    if (!get(key))
      return std::nullopt;
    return named(key, [&](std::string_view v) {
      double x = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec != std::errc{} || p != v.data() + v.size() || !std::isfinite(x))
        throw std::invalid_argument("'" + std::string(v) + "' is not a number");
      return x;
    });
  }

private:
  /// Runs `parse` on the value of `key`, naming the key in its error.
  template <class F>
  auto named(std::string_view key, F parse) const -> decltype(parse(std::string_view{})) {
    const auto v = required(key);
    try {
      return parse(v);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string(key) + ": " + e.what());
    }
  }

  std::string_view strategy_;
  std::vector<std::string_view> keys_;
  std::vector<std::pair<std::string_view, std::string_view>> values_;
};

std::unique_ptr<restart_strategy> make_restart_strategy(std::string_view spec) {
  spec = trim(spec);
  const size_t colon = spec.find(':');
  const auto name = trim(spec.substr(0, colon));
  const bool has_params = colon != std::string_view::npos;
  const auto text = has_params ? spec.substr(colon + 1) : std::string_view{};
  if (name == "none") {
    if (has_params)
      throw std::invalid_argument("none takes no parameters");
    return std::make_unique<no_restart>();
  }
  const auto needs = [&](const char* params) {
    if (!has_params)
      throw std::invalid_argument(std::string(name) + " needs parameters: " + params);
  };
  if (name == "fixed-delay") {
    needs("attempts, delay");
    restart_params p{name, text, {"attempts", "delay"}};
    return std::make_unique<fixed_delay>(p.count("attempts"), p.time("delay"));
  }
  if (name == "exponential") {
    needs("initial, max[, multiplier, reset, attempts]");
    restart_params p{name, text, {"initial", "max", "multiplier", "reset", "attempts"}};
    return std::make_unique<exponential_backoff>(
        p.time("initial"), p.time("max"), p.number_or("multiplier").value_or(2.0),
        p.time_or("reset").value_or(duration{3'600'000}), p.count_or("attempts"));
  }
  if (name == "failure-rate") {
    needs("max, interval, delay");
    restart_params p{name, text, {"max", "interval", "delay"}};
    return std::make_unique<failure_rate>(p.count("max"), p.time("interval"), p.time("delay"));
  }
  throw std::invalid_argument("unknown strategy '" + std::string(name) +
                              "' (expected none, fixed-delay, exponential or failure-rate)");
}

}  // namespace

std::unique_ptr<restart_strategy> parse_restart_strategy(std::string_view spec) {
  try {
    return make_restart_strategy(spec);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("restart strategy \"" + std::string(spec) + "\": " + e.what());
  }
}

}  // namespace sluice::actors
