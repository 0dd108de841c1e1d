#pragma once

#include <string_view>
#include <utility>
#include <variant>

#include "sluice/window/count.hpp"
#include "sluice/window/session.hpp"
#include "sluice/window/sliding.hpp"
#include "sluice/window/tumbling.hpp"

namespace sluice::window {

/// Any of the built-in window assigners (tumbling, sliding, session, count)
/// as one value type: what a program stores when it picks the kind of window
/// at run time, e.g. from a command-line option, without a template or a
/// generic lambda.
///
///     window::assigner a = window::tumbling::of(1s);
///     if (kind == "sliding") a = window::sliding::of(1s, 250ms);
///     s.key_by(key).window(a).aggregate(agg);
///
/// `.window(a)` builds the same operator as the concrete kind it holds: the
/// choice is resolved once, when the pipeline is built, so records pay
/// nothing for it. Its result always has `late_records()`; for count windows
/// that stream stays empty, since no record is late for a count window.
class assigner {
public:
  using variant_type = std::variant<tumbling, sliding, session, count>;

  assigner(tumbling a) : v_(a) {}
  assigner(sliding a) : v_(a) {}
  assigner(session a) : v_(a) {}
  assigner(count a) : v_(a) {}

  /// Calls `f` with the concrete assigner held (`const tumbling&`, ...).
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), v_);
  }

  /// True if it holds an `A`.
  template <class A>
  bool holds() const noexcept {
    return std::holds_alternative<A>(v_);
  }
  /// The `A` held, or nullptr.
  template <class A>
  const A* get_if() const noexcept {
    return std::get_if<A>(&v_);
  }

  /// "tumbling", "sliding", "session" or "count".
  std::string_view kind() const noexcept {
    static constexpr std::string_view names[] = {"tumbling", "sliding", "session", "count"};
    return names[v_.index()];
  }

  /// Throws std::invalid_argument, naming the values, if the assigner held
  /// is malformed (see each kind's `validate`).
  void validate() const {
    visit([](const auto& a) { a.validate(); });
  }

private:
  variant_type v_;
};

}  // namespace sluice::window
