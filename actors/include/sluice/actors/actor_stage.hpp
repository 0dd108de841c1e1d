#pragma once

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "sluice/pipeline.hpp"
#include "sluice/state/codec.hpp"
#include "sluice/state/snapshot.hpp"

namespace sluice::actors {

/// Asks a stateful stage's user actor for its state: `(snapshot_atom, checkpoint id)`,
/// answered with the state (see `stateful_stage_actor`).
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
/// Hands a stateful stage's user actor its restored state: `(restore_atom, state)`,
/// answered with an empty reply, before any batch.
using restore_atom = caf::atom_constant<caf::atom("restore")>;

/// The typed interface of a stateful stage's user actor: it answers batches,
/// answers `(snapshot_atom, checkpoint)` with its `State` when a checkpoint
/// barrier passes the stage, and takes `(restore_atom, State)` after a
/// failure or a restore from a savepoint before it sees any batch. `State`
/// must be encodable by `sluice/state/codec.hpp` (it goes into the
/// checkpoint) and a CAF message type. More handlers may follow.
template <class In, class Out, class State, class... More>
using stateful_stage_actor =
    caf::typed_actor<typename caf::replies_to<std::vector<In>>::template with<std::vector<Out>>,
                     typename caf::replies_to<snapshot_atom, uint64_t>::template with<State>,
                     caf::reacts_to<restore_atom, State>, More...>;

/// Option of `via_actor` for an untyped `caf::actor` that keeps state the
/// way a `stateful_stage_actor<In, Out, State>` does:
/// `via_actor<Out>(name, spawn, actors::with_state<State>)`.
template <class State>
struct with_state_t {};
template <class State>
inline constexpr with_state_t<State> with_state{};

/// Operator side of a custom actor stage (see `stream::via_actor`). The hosting task
/// spawns the user's actor when it opens the stage, sends it every input
/// batch as one request and emits the reply; it returns credits, forwards
/// watermarks and barriers, and stops the actor at the end. Requests are
/// awaited one at a time, so order is kept; a request not answered within
/// `timeout()` fails the task (naming the stage and instance).
///
/// A stateful stage also asks its actor for its state at every checkpoint
/// (`request_snapshot`, before `snapshot` writes it as this instance's
/// operator state) and hands a restored state back (`request_restore`)
/// before the first batch.
class actor_stage_base : public operator_base {
public:
  /// How long a stage waits for its user actor's reply unless told otherwise.
  static constexpr std::chrono::milliseconds default_timeout{60'000};

  explicit actor_stage_base(std::chrono::milliseconds timeout = default_timeout)
      : timeout_(timeout) {}

  void process(size_t, batch_base&) override {
    throw std::logic_error("actor stages are driven through request(), not process()");
  }
  size_t num_ports() const noexcept override { return 1; }

  /// Spawns this instance's user actor.
  virtual caf::actor spawn_user(caf::actor_system& sys) = 0;
  /// Sends `batch` to the user actor; calls `done` after the reply was
  /// emitted to port 0, or `failed` with the error (`caf::sec::request_timeout`
  /// when no reply came within `timeout()`).
  virtual void request(caf::event_based_actor* self, const caf::actor& user, batch_base& batch,
                       std::function<void()> done,
                       std::function<void(const caf::error&)> failed) = 0;

  /// True when the user actor keeps state through checkpoints.
  virtual bool stateful() const noexcept { return false; }
  /// Asks the user actor for its state for checkpoint `id` and keeps it for
  /// the next `snapshot`; then `done`, or `failed` (no handler, a wrong
  /// reply type, an error reply, a timeout).
  virtual void request_snapshot(caf::event_based_actor*, const caf::actor&, uint64_t,
                                std::function<void()> done,
                                std::function<void(const caf::error&)>) {
    done();
  }
  /// True when `restore` found state of this instance to hand to the actor.
  virtual bool has_restored_state() const noexcept { return false; }
  /// Sends the restored state to the user actor; `done` once it took it.
  virtual void request_restore(caf::event_based_actor*, const caf::actor&,
                               std::function<void()> done, std::function<void(const caf::error&)>) {
    done();
  }

  /// Longest wait for one reply of the user actor.
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

private:
  std::chrono::milliseconds timeout_;
};

namespace detail {
/// What a stage keeps of its actor's state between the reply and the
/// snapshot (nothing for a stateless stage).
template <class State>
struct held_state {
  using type = std::optional<State>;
};
template <>
struct held_state<void> {
  using type = std::monostate;
};
}  // namespace detail

/// Typed actor stage: the user actor answers `std::vector<In>` with
/// `std::vector<Out>`. Outputs take the highest timestamp of their input batch.
/// With a `State` (not `void`), the stage is stateful: the actor's state is
/// this instance's operator state in every checkpoint.
template <class In, class Out, class Spawn, class State = void>
class actor_stage final : public actor_stage_base {
public:
  actor_stage(Spawn spawn, std::chrono::milliseconds timeout)
      : actor_stage_base(timeout), spawn_(std::move(spawn)) {}

  caf::actor spawn_user(caf::actor_system& sys) override { return std::invoke(spawn_, sys); }

  void request(caf::event_based_actor* self, const caf::actor& user, batch_base& batch,
               std::function<void()> done, std::function<void(const caf::error&)> failed) override {
    auto& rs = batch_cast<In>(batch).records;
    std::vector<In> values;
    values.reserve(rs.size());
    timestamp ts = timestamp::min();
    for (auto& r : rs) {
      ts = std::max(ts, r.ts);
      values.push_back(std::move(r.value));
    }
    self->request(user, caf::duration{timeout()}, std::move(values))
        .await(
            [this, ts, done](std::vector<Out>& out) {
              for (auto& x : out)
                out_.emit(std::move(x), ts);
              done();
            },
            [failed](caf::error& err) { failed(err); });
  }

  bool stateful() const noexcept override { return !std::is_void_v<State>; }

  void request_snapshot(caf::event_based_actor* self, const caf::actor& user, uint64_t id,
                        std::function<void()> done,
                        std::function<void(const caf::error&)> failed) override {
    if constexpr (std::is_void_v<State>) {
      done();
    } else {
      self->request(user, caf::duration{timeout()}, snapshot_atom::value, id)
          .await(
              [this, done](State& s) {
                taken_ = std::move(s);
                done();
              },
              [failed](caf::error& err) { failed(err); });
    }
  }

  void snapshot(state::snapshot_writer& w) override {
    if constexpr (!std::is_void_v<State>) {
      if (!taken_)
        throw std::logic_error("actor stage snapshot without the actor's state");
      auto out = w.operator_state();
      state::encode(out, *taken_);
      taken_.reset();
    }
  }

  void restore(const state::snapshot_reader& r) override {
    if constexpr (!std::is_void_v<State>) {
      if (!r.operator_state())
        return;
      State s{};
      state::reader in{*r.operator_state()};
      state::decode(in, s);
      restored_ = std::move(s);
    }
  }

  bool has_restored_state() const noexcept override {
    if constexpr (std::is_void_v<State>)
      return false;
    else
      return restored_.has_value();
  }

  void request_restore(caf::event_based_actor* self, const caf::actor& user,
                       std::function<void()> done,
                       std::function<void(const caf::error&)> failed) override {
    if constexpr (std::is_void_v<State>) {
      done();
    } else {
      if (!restored_)
        return done();
      State s = std::move(*restored_);
      restored_.reset();
      self->request(user, caf::duration{timeout()}, restore_atom::value, std::move(s))
          .await([done] { done(); }, [failed](caf::error& err) { failed(err); });
    }
  }

  output_port_base& out(size_t) override { return out_; }

private:
  using held = typename detail::held_state<State>::type;
  Spawn spawn_;
  port<Out> out_;
  held taken_;     ///< The actor's state for the snapshot being taken.
  held restored_;  ///< Restored state not yet handed to the actor.
};

namespace detail {

/// `Out` of a typed actor handle that answers `std::vector<In>` with
/// `std::vector<Out>`; `void` for `caf::actor` and other handles.
template <class In, class Handle>
struct typed_stage_output {
  using type = void;
};
template <class In, class Out, class... Rest>
struct typed_stage_output<In,
                          caf::typed_actor<caf::typed_mpi<caf::detail::type_list<std::vector<In>>,
                                                          caf::output_tuple<std::vector<Out>>>,
                                           Rest...>> {
  using type = Out;
};
template <class In, class Sig, class... Rest>
struct typed_stage_output<In, caf::typed_actor<Sig, Rest...>>
    : typed_stage_output<In, caf::typed_actor<Rest...>> {};

/// `State` of a typed actor handle that answers `(snapshot_atom, uint64_t)`
/// with `State`; `void` for stateless and untyped handles.
template <class Handle>
struct typed_stage_state {
  using type = void;
};
template <class State, class... Rest>
struct typed_stage_state<caf::typed_actor<
    caf::typed_mpi<caf::detail::type_list<snapshot_atom, uint64_t>, caf::output_tuple<State>>,
    Rest...>> {
  using type = State;
};
template <class Sig, class... Rest>
struct typed_stage_state<caf::typed_actor<Sig, Rest...>>
    : typed_stage_state<caf::typed_actor<Rest...>> {};

/// True when a typed handle takes `(restore_atom, State)`.
template <class Handle, class State>
struct typed_stage_restores : std::false_type {};
template <class State, class... Sigs>
struct typed_stage_restores<caf::typed_actor<Sigs...>, State>
    : std::disjunction<std::is_same<Sigs, caf::reacts_to<restore_atom, State>>...> {};

/// The options of `via_actor` after `spawn`: a timeout and/or `with_state<S>`.
template <class State = void>
struct stage_options {
  using state = State;
  std::chrono::milliseconds timeout = actor_stage_base::default_timeout;
};
template <class State, class Rep, class Period, class... Rest>
auto parse_stage_options(stage_options<State> o, std::chrono::duration<Rep, Period> t,
                         Rest&&... rest);
template <class State, class S, class... Rest>
auto parse_stage_options(stage_options<State> o, with_state_t<S>, Rest&&... rest);
template <class State>
stage_options<State> parse_stage_options(stage_options<State> o) {
  return o;
}
template <class State, class Rep, class Period, class... Rest>
auto parse_stage_options(stage_options<State> o, std::chrono::duration<Rep, Period> t,
                         Rest&&... rest) {
  o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t);
  return parse_stage_options(o, std::forward<Rest>(rest)...);
}
template <class State, class S, class... Rest>
auto parse_stage_options(stage_options<State> o, with_state_t<S>, Rest&&... rest) {
  static_assert(std::is_void_v<State>, "via_actor: with_state given twice");
  return parse_stage_options(stage_options<S>{o.timeout}, std::forward<Rest>(rest)...);
}

}  // namespace detail

}  // namespace sluice::actors

namespace sluice {

/// Plugs a user-defined CAF actor into a pipeline as a stage ("custom actor
/// pipelines"): the body of `stream<In>::via_actor(name, spawn[, options])`.
/// `spawn(caf::actor_system&)` is called once per parallel instance and
/// returns a `caf::actor`, or a `caf::typed_actor` (from which `Out` is
/// deduced); the actor must handle `std::vector<In>` and reply with
/// `std::vector<Out>`. The framework does the rest: batching, credits and
/// backpressure, watermarks, lifecycle.
///
/// Options, in any order: a timeout (default 60 s) and `actors::with_state<S>`.
/// An actor that has not answered within the timeout fails the task with an
/// error naming the stage and instance (a hung actor would otherwise stall
/// the job forever).
///
/// State: a stage is stateless unless its actor is a `stateful_stage_actor`
/// (a typed handle that answers `(snapshot_atom, uint64_t)` with a `State`)
/// or `with_state<State>` is given for an untyped one. A stateless actor may
/// keep state, but it starts empty after every restart. A stateful actor is
/// asked for its state whenever a checkpoint barrier passes the stage; the
/// state is stored as this instance's operator state and handed back with
/// `(restore_atom, State)` after a failure or a restore from a savepoint,
/// before any batch. An actor that does not answer the snapshot request
/// fails the job at the first checkpoint, naming the stage and instance.
/// Being per-instance state, it restores only at the same parallelism.
///
/// `In`, `Out` and `State` must be CAF message types: builtin types and
/// std::string work; for a user struct add
/// `CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<S>)` at global scope (or an
/// `inspect` overload). `State` must also have a codec (`sluice/state/codec.hpp`).
template <class Given, class In, class Spawn, class... Options>
auto add_actor_stage(stream<In>& in, std::type_identity<Given>, std::string name, Spawn spawn,
                     Options&&... options) {
  using handle = std::decay_t<std::invoke_result_t<Spawn&, caf::actor_system&>>;
  using Out =
      detail::given_or_t<Given, typename actors::detail::typed_stage_output<In, handle>::type>;
  static_assert(!std::is_void_v<Out>,
                "via_actor: the output type cannot be deduced from an untyped caf::actor: name it, "
                "via_actor<Out>(name, spawn), or return a caf::typed_actor answering "
                "std::vector<In> with std::vector<Out>");
  const auto opts =
      actors::detail::parse_stage_options(actors::detail::stage_options<>{}, options...);
  using typed_state = typename actors::detail::typed_stage_state<handle>::type;
  using given_state = typename std::decay_t<decltype(opts)>::state;
  static_assert(std::is_void_v<typed_state> || std::is_void_v<given_state> ||
                    std::is_same_v<typed_state, given_state>,
                "via_actor: with_state<S> names another state type than the actor's snapshot "
                "handler");
  using State = std::conditional_t<std::is_void_v<typed_state>, given_state, typed_state>;
  if constexpr (!std::is_void_v<typed_state>)
    static_assert(actors::detail::typed_stage_restores<handle, typed_state>::value,
                  "via_actor: a typed actor that answers (snapshot_atom, uint64_t) with its state "
                  "must also take (restore_atom, State): see stateful_stage_actor");
  if constexpr (!std::is_void_v<State>)
    static_assert(
        state::serializable<State>(),
        "via_actor: the state of a stateful stage needs a codec (sluice/state/codec.hpp)");
  auto as_actor = [spawn](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(std::invoke(spawn, sys));
  };
  auto out = in.template then<Out>("actor_stage", [as_actor, timeout = opts.timeout] {
    return std::make_unique<actors::actor_stage<In, Out, decltype(as_actor), State>>(as_actor,
                                                                                     timeout);
  });
  out.name(std::move(name));
  out.start_new_chain();
  return out;
}

}  // namespace sluice
