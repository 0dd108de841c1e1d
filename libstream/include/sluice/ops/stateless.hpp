#pragma once

#include <functional>
#include <utility>

#include "sluice/collector.hpp"
#include "sluice/operator.hpp"

namespace sluice::ops {

/// Calls `f` with the record's value, moving it when `f` takes it by value or
/// rvalue reference (the batch belongs to the operator, so moving is safe).
template <class F, class T>
decltype(auto) call_with_value(F& f, T& value) {
  if constexpr (std::is_invocable_v<F&, T&&>)
    return std::invoke(f, std::move(value));
  else
    return std::invoke(f, std::as_const(value));
}

/// One output record per input record: `Out f(In)`.
template <class In, class Out, class F>
class map_operator final : public operator_base {
public:
  explicit map_operator(F f) : f_(std::move(f)) {}

  void process(size_t, batch_base& b) override {
    auto& in = batch_cast<In>(b).records;
    auto& out = out_.records();
    out.reserve(out.size() + in.size());
    for (auto& r : in)
      out.push_back(record<Out>{call_with_value(f_, r.value), r.ts});
  }

  size_t num_ports() const noexcept override { return 1; }
  output_port_base& out(size_t) override { return out_; }

private:
  F f_;
  port<Out> out_;
};

/// Keeps the records for which `bool f(const T&)` holds.
template <class T, class F>
class filter_operator final : public operator_base {
public:
  explicit filter_operator(F f) : f_(std::move(f)) {}

  void process(size_t, batch_base& b) override {
    auto& in = batch_cast<T>(b).records;
    auto& out = out_.records();
    for (auto& r : in)
      if (std::invoke(f_, std::as_const(r.value)))
        out.push_back(std::move(r));
  }

  size_t num_ports() const noexcept override { return 1; }
  output_port_base& out(size_t) override { return out_; }

private:
  F f_;
  port<T> out_;
};

/// Zero or more output records per input: `void f(In, collector<Out>&)`.
template <class In, class Out, class F>
class flat_map_operator final : public operator_base {
public:
  explicit flat_map_operator(F f) : f_(std::move(f)) {}

  void process(size_t, batch_base& b) override {
    auto& in = batch_cast<In>(b).records;
    for (auto& r : in) {
      collector<Out> c{out_, r.ts};
      if constexpr (std::is_invocable_v<F&, In&&, collector<Out>&>)
        std::invoke(f_, std::move(r.value), c);
      else
        std::invoke(f_, std::as_const(r.value), c);
    }
  }

  size_t num_ports() const noexcept override { return 1; }
  output_port_base& out(size_t) override { return out_; }

private:
  F f_;
  port<Out> out_;
};

/// Passes records through unchanged; the target of `union_with`, whose inputs
/// are several edges into one operator.
template <class T>
class union_operator final : public operator_base {
public:
  void process(size_t, batch_base& b) override {
    auto& in = batch_cast<T>(b).records;
    auto& out = out_.records();
    if (out.empty()) {
      out.swap(in);
    } else {
      for (auto& r : in)
        out.push_back(std::move(r));
    }
  }

  size_t num_ports() const noexcept override { return 1; }
  output_port_base& out(size_t) override { return out_; }

private:
  port<T> out_;
};

}  // namespace sluice::ops
