#pragma once

#include <type_traits>
#include <utility>

#include "sluice/operator.hpp"

namespace sluice {

/// Handed to user functions that emit zero or more records per input
/// (`flat_map`, `process`). Emitted records inherit the timestamp of the
/// input record unless `emit_at` gives one.
template <class T>
class collector {
public:
  collector(port<T>& p, timestamp ts) : port_(&p), ts_(ts) {}

  void emit(T value) { port_->emit(std::move(value), ts_); }
  void emit_at(T value, timestamp ts) { port_->emit(std::move(value), ts); }
  /// Timestamp of the record being processed.
  timestamp input_timestamp() const noexcept { return ts_; }

private:
  port<T>* port_;
  timestamp ts_;
};

namespace detail {

/// Placeholder for a template argument the API deduces from the callable
/// (`flat_map<Out = deduced>`): the user may still name it explicitly.
struct deduced {};

template <class... A>
struct type_list {};

/// The parameter types of a callable with one non-template call operator
/// (a non-generic lambda, a function object, a function pointer); `type` is
/// `void` for generic lambdas and overloaded function objects.
template <class F, class = void>
struct callable_args {
  using type = void;
};
template <class R, class... A>
struct callable_args<R (*)(A...), void> {
  using type = type_list<A...>;
};
template <class R, class... A>
struct callable_args<R (*)(A...) noexcept, void> {
  using type = type_list<A...>;
};
template <class M>
struct member_args {
  using type = void;
};
template <class R, class C, class... A>
struct member_args<R (C::*)(A...)> {
  using type = type_list<A...>;
};
template <class R, class C, class... A>
struct member_args<R (C::*)(A...) const> {
  using type = type_list<A...>;
};
template <class R, class C, class... A>
struct member_args<R (C::*)(A...) noexcept> {
  using type = type_list<A...>;
};
template <class R, class C, class... A>
struct member_args<R (C::*)(A...) const noexcept> {
  using type = type_list<A...>;
};
template <class F>
struct callable_args<F, std::void_t<decltype(&F::operator())>> {
  using type = typename member_args<decltype(&F::operator())>::type;
};

/// `U` of the first `collector<U>&` parameter in `Args`, else `void`.
template <class Args>
struct collector_arg {
  using type = void;
};
template <>
struct collector_arg<type_list<>> {
  using type = void;
};
template <class A, class... Rest>
struct collector_arg<type_list<A, Rest...>> : collector_arg<type_list<Rest...>> {};
template <class U, class... Rest>
struct collector_arg<type_list<collector<U>&, Rest...>> {
  using type = U;
};

/// The type of parameter `I` with reference and const removed, else `void`.
template <size_t I, class Args>
struct nth_arg {
  using type = void;
};
template <class A, class... Rest>
struct nth_arg<0, type_list<A, Rest...>> {
  using type = std::remove_cvref_t<A>;
};
template <size_t I, class A, class... Rest>
requires(I > 0) struct nth_arg<I, type_list<A, Rest...>> : nth_arg<I - 1, type_list<Rest...>> {
};

/// `Given` unless it is `deduced`, else `Deduced` (which is `void` when the
/// callable does not say it).
template <class Given, class Deduced>
using given_or_t = std::conditional_t<std::is_same_v<Given, deduced>, Deduced, Given>;

}  // namespace detail

/// The output type a callable names through its `collector<Out>&` parameter
/// (`[](const T&, collector<Out>& out)`); `void` when it names none (a
/// generic lambda: `auto& out`).
template <class F>
using collector_type_t =
    typename detail::collector_arg<typename detail::callable_args<std::decay_t<F>>::type>::type;

}  // namespace sluice
