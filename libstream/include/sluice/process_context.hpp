#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/operator.hpp"
#include "sluice/state/timer_queue.hpp"
#include "sluice/time.hpp"

namespace sluice {

/// Names a typed side output of a process function (Flink's `OutputTag`):
/// declared when the function is added (`process(f, on_timer, tag)`), written
/// with `ctx.output(tag, value)` and read with `.side_output(tag)`. Copies of
/// a tag are the same tag; two tags made separately are different even with
/// the same name.
template <class T>
class output_tag {
public:
  using value_type = T;
  explicit output_tag(std::string name)
      : id_(std::make_shared<const std::string>(std::move(name))) {
    if (id_->empty())
      throw std::invalid_argument("output_tag: the name must not be empty");
  }
  const std::string& name() const noexcept { return *id_; }
  const void* id() const noexcept { return id_.get(); }

private:
  std::shared_ptr<const std::string> id_;
};

namespace detail {
template <class T>
struct is_output_tag : std::false_type {};
template <class T>
struct is_output_tag<output_tag<T>> : std::true_type {};
template <class T>
inline constexpr bool is_output_tag_v = is_output_tag<std::remove_cvref_t<T>>::value;
template <class A, class...>
struct first {
  using type = A;
};
template <class... A>
using first_t = typename first<A...>::type;
}  // namespace detail

/// The key of a stream that is not keyed: what `current_key()` returns in
/// the context of `stream::process`.
struct no_key {
  friend bool operator==(no_key, no_key) = default;
};

/// Which clock a timer belongs to.
enum class time_domain { event_time, processing_time };

/// What a keyed process function may do besides emitting: read the current
/// key and times, register and delete timers of the current key, emit to
/// side outputs and drop the key's state. Valid only during the call it is
/// passed to.
///
/// Timers follow Flink's KeyedProcessFunction: one per (key, time) and
/// domain; an event-time timer fires once the watermark reaches its time
/// (all remaining ones fire at the end of the input), a processing-time timer
/// once the job clock reaches it (pending ones do not fire at the end of the
/// input). Records emitted from an event-time timer carry the timer's time;
/// from a processing-time timer they carry no event time (`timestamp::min()`)
/// unless emitted with `emit_at`.
template <class K>
class process_context {
public:
  /// Time of the record being processed, or of the timer firing.
  timestamp time() const noexcept { return time_; }
  /// In `on_timer`: the domain of the timer firing.
  time_domain domain() const noexcept { return domain_; }
  const K& current_key() const noexcept { return *key_; }
  timestamp current_watermark() const { return op_ctx_->watermark(); }
  timestamp current_processing_time() const { return op_ctx_->processing_time(); }

  void register_event_time_timer(timestamp t) {
    static_assert(!std::is_same_v<K, no_key>,
                  "timers need a keyed stream: key_by(...) before process(...), as in Flink");
    timers(event_).add(*key_, t);
  }
  void delete_event_time_timer(timestamp t) {
    static_assert(!std::is_same_v<K, no_key>,
                  "timers need a keyed stream: key_by(...) before process(...), as in Flink");
    timers(event_).remove(*key_, t);
  }
  void register_processing_time_timer(timestamp t) {
    static_assert(!std::is_same_v<K, no_key>,
                  "timers need a keyed stream: key_by(...) before process(...), as in Flink");
    if (timers(processing_).add(*key_, t))
      op_ctx_->request_timer(t);  // keeps only the earliest request
  }
  void delete_processing_time_timer(timestamp t) {
    static_assert(!std::is_same_v<K, no_key>,
                  "timers need a keyed stream: key_by(...) before process(...), as in Flink");
    timers(processing_).remove(*key_, t);
  }

  /// Emits `value` to side output `tag` at the current time. The tag must
  /// have been declared with the function.
  template <class U>
  void output(const output_tag<U>& tag, U value) {
    static_cast<port<U>*>(side_port(tag.id(), tag.name()))->emit(std::move(value), time_);
  }

  /// Drops the current key's state once this call returns (its timers stay;
  /// delete them to let the key go entirely).
  void clear_state() noexcept { clear_ = true; }

  // -- for the operator --------------------------------------------------------

  struct side {
    const void* id;
    output_port_base* port;
  };
  /// `event` and `processing` are null for a stream that is not keyed.
  process_context(operator_context& ctx, state::timer_queue<K>* event,
                  state::timer_queue<K>* processing, std::vector<side> sides)
      : op_ctx_(&ctx), event_(event), processing_(processing), sides_(std::move(sides)) {}
  void enter(const K& key, timestamp t, time_domain d) noexcept {
    key_ = &key;
    time_ = t;
    domain_ = d;
    clear_ = false;
  }
  bool clear_requested() const noexcept { return clear_; }

private:
  state::timer_queue<K>& timers(state::timer_queue<K>* q) const {
    if (!q)  // a process function on a stream that is not keyed, as in Flink
      throw std::logic_error("timers need a keyed stream: call key_by(...) before process in '" +
                             op_ctx_->name() + "'");
    return *q;
  }

  output_port_base* side_port(const void* id, const std::string& name) {
    for (auto& s : sides_)
      if (s.id == id)
        return s.port;
    throw std::logic_error("side output '" + name +
                           "' was not declared with this process function (pass its tag to "
                           "process(...))");
  }

  operator_context* op_ctx_;
  state::timer_queue<K>* event_;
  state::timer_queue<K>* processing_;
  std::vector<side> sides_;
  const K* key_ = nullptr;
  timestamp time_;
  time_domain domain_ = time_domain::event_time;
  bool clear_ = false;
};

}  // namespace sluice
