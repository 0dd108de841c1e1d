#pragma once

// Included by pipeline.hpp: the typed stream handles of the fluent API.

#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "sluice/ops/keyed.hpp"
#include "sluice/ops/stateless.hpp"
#include "sluice/ops/window_join.hpp"
#include "sluice/pipeline.hpp"
#include "sluice/sink/lmdb_table_sink.hpp"
#include "sluice/sink/transactional_file.hpp"
#include "sluice/state/keyed_state.hpp"
#include "sluice/window/count_operator.hpp"
#include "sluice/window/session_operator.hpp"
#include "sluice/window/sliding.hpp"
#include "sluice/window/time_window_operator.hpp"
#include "sluice/window/tumbling.hpp"

namespace sluice {

using ops::emit_policy;

/// Settings shared by every handle on a plan node: name, uid, parallelism.
template <class Self>
class node_settings {
public:
  node_settings(pipeline* p, uint32_t node) : p_(p), node_(node) {}

  /// Name shown in logs, errors and metrics (the default uid is `op-<id>`, see `uid`).
  Self& name(std::string n) {
    node().name = std::move(n);
    return self();
  }
  /// Stable identity of the operator's state across job versions.
  Self& uid(std::string u) {
    node().uid = std::move(u);
    return self();
  }
  /// Number of parallel instances (tasks) of this operator.
  Self& parallelism(uint32_t n) {
    if (n == 0)
      throw std::invalid_argument("parallelism of '" + node().name + "' must be at least 1");
    node().parallelism = n;
    return self();
  }
  /// Keeps this operator in a task of its own instead of chaining it to its
  /// upstream operator.
  Self& start_new_chain() {
    node().chainable = false;
    return self();
  }

  plan_node& node() const { return p_->plan().nodes[node_]; }
  uint32_t node_id() const noexcept { return node_; }
  pipeline& owner() const noexcept { return *p_; }

protected:
  Self& self() { return static_cast<Self&>(*this); }
  pipeline* p_;
  uint32_t node_;
};

/// Handle on a sink: only its settings can change.
class sink_ref : public node_settings<sink_ref> {
public:
  using node_settings::node_settings;
};

template <class T, class K>
class keyed_stream;
template <class A, class B, ops::join_kind Kind>
class join_builder;

/// A stream of records of type `T`: the output port of one plan node. Each
/// transformation adds a node and returns a handle on its output.
template <class T>
class stream : public node_settings<stream<T>> {
  using base = node_settings<stream<T>>;

public:
  using value_type = T;

  stream(pipeline* p, uint32_t node, uint32_t port = 0, partitioning next = partitioning::forward)
      : base(p, node), port_(port), next_(next) {}

  /// Sources only: stamp records with event time and emit watermarks.
  stream& with_watermarks(watermark_strategy<T> s) {
    plan_node& n = this->node();
    if (!n.is_source)
      throw std::logic_error("with_watermarks applies to sources, but '" + n.name + "' is a " +
                             n.kind);
    n.make = [make = n.make, s] {
      auto op = make();
      static_cast<typed_source<T>&>(*op).set_watermarks(s);
      return op;
    };
    return *this;
  }

  /// Sources only: at most `records_per_second` over all instances.
  stream& rate_limit(double records_per_second) {
    plan_node& n = this->node();
    if (!n.is_source)
      throw std::logic_error("rate_limit applies to sources, but '" + n.name + "' is a " + n.kind);
    n.rate_limit = records_per_second;
    return *this;
  }

  /// Sources only: replays in event time, `factor` times faster than real
  /// time (86400: a day of event time per second), paced by the source's
  /// watermark (set one with `with_watermarks`). Event time `origin` is due
  /// when the job starts (give the same origin to sources that should stay
  /// in step, and to parallel sources whose instances read different parts
  /// of the data); without one, each instance starts at its first
  /// watermark. A restored source resumes at its restored watermark.
  /// Combines with `rate_limit` (the slower wins). Results do not change,
  /// only when they come.
  stream& replay_speedup(double factor, std::optional<timestamp> origin = {}) {
    plan_node& n = this->node();
    if (!n.is_source)
      throw std::logic_error("replay_speedup applies to sources, but '" + n.name + "' is a " +
                             n.kind);
    if (!(factor > 0))
      throw std::invalid_argument("replay_speedup of '" + n.name + "' must be positive, not " +
                                  std::to_string(factor));
    n.replay_speedup = factor;
    n.replay_origin = origin;
    return *this;
  }

  /// `Out f(T)` for every record.
  template <class F>
  auto map(F f) {
    using Out = std::decay_t<decltype(ops::call_with_value(f, std::declval<T&>()))>;
    return then<Out>("map", [f] { return std::make_unique<ops::map_operator<T, Out, F>>(f); });
  }

  /// Keeps records for which `bool f(const T&)` holds.
  template <class F>
  stream<T> filter(F f) {
    return then<T>("filter", [f] { return std::make_unique<ops::filter_operator<T, F>>(f); });
  }

  /// `void f(T, collector<Out>&)`: zero or more outputs per record. `Out` is
  /// deduced from the collector parameter; a generic lambda (`auto& out`)
  /// names it: `flat_map<Out>(f)`.
  template <class Out = detail::deduced, class F>
  auto flat_map(F f) {
    using O = detail::given_or_t<Out, collector_type_t<F>>;
    static_assert(!std::is_void_v<O>,
                  "flat_map: the output type cannot be deduced from f (a generic lambda?): take a "
                  "sluice::collector<Out>& parameter, or name it: flat_map<Out>(f)");
    if constexpr (!std::is_void_v<O>)
      return then<O>("flat_map",
                     [f] { return std::make_unique<ops::flat_map_operator<T, O, F>>(f); });
  }

  /// `f(T, process_context<no_key>&, collector<Out>&)` per record, writing
  /// to the side outputs whose `output_tag`s follow `f` (read them with
  /// `.side_output(tag)` on the result; unread ones are counted in the
  /// summary). Timers need a keyed stream: `key_by(k).process(...)`.
  template <class Out = detail::deduced, class F, class... Tags>
  auto process(F f, Tags... tags);

  /// Adds an operator of the user's own: `make()` returns an `operator_base`
  /// whose port 0 emits `Out`.
  template <class Out, class Make>
  stream<Out> transform(std::string kind, Make make, uint32_t num_ports = 1) {
    return then<Out>(std::move(kind), std::move(make), num_ports);
  }

  /// Partitions by `key(const T&)`: records with equal keys meet in the same
  /// instance downstream.
  template <class KeyFn>
  auto key_by(KeyFn key) {
    static_assert(std::is_invocable_v<const KeyFn&, const T&>,
                  "key_by: the key function must be callable as key(const T&) const");
    using K = std::decay_t<std::invoke_result_t<const KeyFn&, const T&>>;
    return keyed_stream<T, K>{*this, std::move(key)};
  }

  /// Plugs a user-defined CAF actor in as a stage; see
  /// `sluice/actors/actor_stage.hpp`, which must be included. `Out` is
  /// deduced from a typed actor handle `spawn` returns, else named:
  /// `via_actor<Out>(name, spawn)`. Further arguments go to the stage: a
  /// timeout, `actors::with_state<State>` (stateful stages: see there).
  template <class Out = detail::deduced, class Spawn, class... Options>
  auto via_actor(std::string name, Spawn spawn, Options&&... options) {
    // Found by argument-dependent lookup when the actors layer is included;
    // libstream itself knows nothing of actors.
    return add_actor_stage(*this, std::type_identity<Out>{}, std::move(name), std::move(spawn),
                           std::forward<Options>(options)...);
  }

  /// Window join with `other` (Flink's `join`): pairs of records with equal
  /// keys in the same window,
  /// `a.join(b).where(fa).equal_to(fb).window(w).apply(f)`; see
  /// `windowed_join::apply`. The outer variants also emit the records of a
  /// window the other side has none for.
  template <class B>
  join_builder<T, B, ops::join_kind::inner> join(const stream<B>& other);
  template <class B>
  join_builder<T, B, ops::join_kind::left_outer> left_outer_join(const stream<B>& other);
  template <class B>
  join_builder<T, B, ops::join_kind::right_outer> right_outer_join(const stream<B>& other);
  template <class B>
  join_builder<T, B, ops::join_kind::full_outer> full_outer_join(const stream<B>& other);
  /// Window co-group with `other`: per key and window, both sides' records at
  /// once, `a.co_group(b).where(fa).equal_to(fb).window(w).apply(f)`.
  template <class B>
  join_builder<T, B, ops::join_kind::co_group> co_group(const stream<B>& other);

  /// Sends records round-robin to all instances of the next operator.
  stream rebalance() const { return stream{this->p_, this->node_, port_, partitioning::rebalance}; }
  /// Sends every record to every instance of the next operator.
  stream broadcast() const { return stream{this->p_, this->node_, port_, partitioning::broadcast}; }

  /// Merges streams of the same type.
  template <class... Streams>
  stream<T> union_with(const Streams&... others) {
    auto out = then<T>("union", [] { return std::make_unique<ops::union_operator<T>>(); });
    (others.connect_to(out.node_id(), 0, partitioning::rebalance, make_partitioner_factory<T>()),
     ...);
    this->p_->plan().nodes[out.node_id()].chainable = false;
    return out;
  }

  /// Records this node rejected (malformed input, parse failures).
  stream<dead_letter> dead_letters() const {
    return stream<dead_letter>{this->p_, this->node_, plan::dead_letter_port(this->node()),
                               partitioning::rebalance};
  }

  // -- sinks -----------------------------------------------------------------

  /// Appends every record to `target` (tests; at-least-once).
  sink_ref collect(std::shared_ptr<collected<T>> target) {
    return sink("collect", [target] { return std::make_unique<collect_sink<T>>(target); });
  }
  /// Calls `f(T)` or `f(T, timestamp)` for every record.
  template <class F>
  sink_ref for_each(F f) {
    return sink("for_each", [f] { return std::make_unique<callback_sink<T, F>>(f); });
  }
  /// Writes CSV rows to `path` (parallelism 1 unless set otherwise).
  sink_ref write_csv(std::string path) {
    return text(std::move(path), text_format::csv, "write_csv");
  }
  /// Writes one JSON value per line to `path`.
  sink_ref write_json_lines(std::string path) {
    return text(std::move(path), text_format::json_lines, "write_json");
  }
  /// Exactly-once CSV output into directory `dir` (files `part-<instance>-<checkpoint>`),
  /// published on checkpoint completion; `opts`: compression and a publish
  /// hook (see transactional_file_sink and part_file_options).
  sink_ref write_csv_exactly_once(std::string dir, part_file_options opts = {}) {
    auto s = sink("write_csv_eo", [dir, opts] {
      return std::make_unique<transactional_file_sink<T>>(dir, text_format::csv, opts);
    });
    this->p_->plan().nodes[s.node_id()].exactly_once_dir = dir;
    return s;
  }
  /// Exactly-once JSON-lines output into directory `dir`.
  sink_ref write_json_lines_exactly_once(std::string dir, part_file_options opts = {}) {
    auto s = sink("write_json_eo", [dir, opts] {
      return std::make_unique<transactional_file_sink<T>>(dir, text_format::json_lines, opts);
    });
    this->p_->plan().nodes[s.node_id()].exactly_once_dir = dir;
    return s;
  }
  /// Exactly-once upserts `key(x) -> value(x)` into the LMDB table in
  /// directory `dir`, one transaction per completed checkpoint (see
  /// lmdb_table_sink; read it back with state::lmdb_table and state::codec).
  template <class KeyFn, class ValueFn>
  sink_ref write_lmdb_table(std::string dir, KeyFn key, ValueFn value) {
    return sink("lmdb_table", [dir, key, value] {
      return std::make_unique<lmdb_table_sink<T, KeyFn, ValueFn>>(dir, key, value);
    });
  }
  /// Prints one JSON value per line on standard output.
  sink_ref print() { return text("-", text_format::json_lines, "print"); }

  // -- plumbing used by the API's other handles ---------------------------------

  template <class Out, class Make>
  stream<Out> then(std::string kind, Make make, uint32_t num_ports = 1,
                   partitioning part = partitioning::forward,
                   partitioner_factory factory = nullptr) {
    plan_node& n = this->p_->add_node(std::move(kind), std::move(make), num_ports);
    const uint32_t id = n.id;
    connect_to(id, 0, part, factory ? std::move(factory) : make_partitioner_factory<T>());
    return stream<Out>{this->p_, id};
  }

  void connect_to(uint32_t to, uint32_t input, partitioning part,
                  partitioner_factory factory) const {
    if (next_ != partitioning::forward && part != partitioning::hash)
      part = next_;
    this->p_->add_edge(this->node_, port_, to, input, part, std::move(factory),
                       make_batch_codec<T>());
  }

  uint32_t port() const noexcept { return port_; }

private:
  template <class Make>
  sink_ref sink(std::string kind, Make make) {
    auto s = then<int>(std::move(kind), std::move(make), 0);
    return sink_ref{this->p_, s.node_id()};
  }
  sink_ref text(std::string path, text_format fmt, const char* kind) {
    auto s = sink(kind, [path, fmt] { return std::make_unique<text_sink<T>>(path, fmt); });
    s.parallelism(1);
    return s;
  }

  uint32_t port_;
  partitioning next_;
};

template <class T, class Make>
stream<T> pipeline::add_source(std::string kind, Make make) {
  plan_node& n = add_node(std::move(kind), std::move(make), 1);
  n.is_source = true;
  return stream<T>{this, n.id};
}

inline stream<std::string> pipeline::read_text(std::string path) {
  return read_text(std::move(path),
                   [](std::string_view l) -> parsed<std::string> { return std::string{l}; });
}

template <class T, class Parse>
stream<T> pipeline::add_file_source(std::string path, Parse parse, text_file_options opts) {
  auto s = add_source<T>("file_source", [path, parse, opts] {
    return std::make_unique<text_file_source<T, Parse>>(path, parse, opts);
  });
  // A small file is read by one instance, in file order; a large one follows
  // the job's parallelism, each instance reading its byte-range splits.
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size < opts.parallel_from_bytes)
    s.parallelism(1);
  return s;
}

}  // namespace sluice

#include "sluice/keyed_stream.hpp"
