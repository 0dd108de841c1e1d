#pragma once

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/pipeline.hpp"

namespace sluice::actors {

/// Operator side of a custom actor stage (see `stream::via_actor`). The hosting task
/// spawns the user's actor when it opens the stage, sends it every input
/// batch as one request and emits the reply; it returns credits, forwards
/// watermarks and barriers, and stops the actor at the end. Requests are
/// awaited one at a time, so order is kept; a request not answered within
/// `timeout()` fails the task (naming the stage and instance).
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

  /// Longest wait for one reply of the user actor.
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

private:
  std::chrono::milliseconds timeout_;
};

/// Typed actor stage: the user actor answers `std::vector<In>` with
/// `std::vector<Out>`. Outputs take the highest timestamp of their input batch.
template <class In, class Out, class Spawn>
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

  output_port_base& out(size_t) override { return out_; }

private:
  Spawn spawn_;
  port<Out> out_;
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

}  // namespace detail

}  // namespace sluice::actors

namespace sluice {

/// Plugs a user-defined CAF actor into a pipeline as a stage ("custom actor
/// pipelines"): the body of `stream<In>::via_actor(name, spawn)`.
/// `spawn(caf::actor_system&)` is called once per parallel instance and
/// returns a `caf::actor`, or a `caf::typed_actor` (from which `Out` is
/// deduced); the actor must handle `std::vector<In>` and reply with
/// `std::vector<Out>` (it may keep any state of its own). The framework does
/// the rest: batching, credits and backpressure, watermarks, lifecycle.
///
/// An actor that has not answered a batch within `timeout` fails the task
/// with an error naming the stage and instance (a hung actor would
/// otherwise stall the job forever).
///
/// `In` and `Out` must be CAF message types: builtin types and std::string
/// work; for a user struct add `CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<S>)`
/// at global scope (or an `inspect` overload).
template <class Given, class In, class Spawn>
auto add_actor_stage(
    stream<In>& in, std::type_identity<Given>, std::string name, Spawn spawn,
    std::chrono::milliseconds timeout = actors::actor_stage_base::default_timeout) {
  using handle = std::decay_t<std::invoke_result_t<Spawn&, caf::actor_system&>>;
  using Out =
      detail::given_or_t<Given, typename actors::detail::typed_stage_output<In, handle>::type>;
  static_assert(!std::is_void_v<Out>,
                "via_actor: the output type cannot be deduced from an untyped caf::actor: name it, "
                "via_actor<Out>(name, spawn), or return a caf::typed_actor answering "
                "std::vector<In> with std::vector<Out>");
  auto as_actor = [spawn](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(std::invoke(spawn, sys));
  };
  auto out = in.template then<Out>("actor_stage", [as_actor, timeout] {
    return std::make_unique<actors::actor_stage<In, Out, decltype(as_actor)>>(as_actor, timeout);
  });
  out.name(std::move(name));
  out.start_new_chain();
  return out;
}

}  // namespace sluice
