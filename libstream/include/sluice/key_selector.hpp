#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace sluice {

/// A key function `K(const T&)` whose own type is erased, so that
/// `keyed_stream<T, K>` and the windowed streams name no lambda type. Keyed
/// operators made by the plan call it once per record: one indirect call to
/// a thunk into which the user's function is inlined. Copies share the
/// (immutable) function; it is called as `const`, so one instance may serve
/// operator instances on several threads.
template <class T, class K>
class key_selector {
public:
  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, key_selector>) explicit key_selector(F f)
      : fn_(std::make_shared<const std::decay_t<F>>(std::move(f))), call_(&call<std::decay_t<F>>) {
    static_assert(std::is_invocable_v<const std::decay_t<F>&, const T&>,
                  "a key function must be callable as key(const T&) const");
  }

  K operator()(const T& x) const { return call_(fn_.get(), x); }

private:
  template <class F>
  static K call(const void* f, const T& x) {
    return std::invoke(*static_cast<const F*>(f), x);
  }

  std::shared_ptr<const void> fn_;
  K (*call_)(const void*, const T&);
};

}  // namespace sluice
