// Compile-only checks, run by CTest (they invoke the compiler, so a failure
// is a failing test, not a broken build):
//
// - `libstream_window_late_records_compile_check` compiles this file as is:
//   late_records() of time and session windows, and of an assigner chosen at
//   run time (whatever kind it holds), compiles.
// - `libstream_window_count_late_records_compile_fail` compiles it with
//   SLUICE_COUNT_LATE_RECORDS and expects the static_assert message: count
//   windows have no event-time lateness and no late-records port, so
//   late_records() on them must not compile (it used to, and read the
//   dead-letter port as a stream of records).
#include <cstdint>

#include "sluice/pipeline.hpp"
#include "sluice/window/assigner.hpp"

namespace check {

struct item {
  uint32_t key = 0;
};

struct key_of {
  uint32_t operator()(const item& i) const { return i.key; }
};

struct counter {
  using acc_type = uint64_t;
  acc_type create() const { return 0; }
  void add(acc_type& acc, const item&) const { ++acc; }
  void merge(acc_type& acc, acc_type&& other) const { acc += other; }
  uint64_t result(const acc_type& acc) const { return acc; }
};

}  // namespace check

int main() {
  using namespace sluice;
  pipeline p;
  auto in = p.from_collection<check::item>({});
#ifdef SLUICE_COUNT_LATE_RECORDS
  auto late = in.key_by(check::key_of{})
                  .window(window::count::of(3))
                  .aggregate(check::counter{})
                  .late_records();
#else
  auto late = in.key_by(check::key_of{})
                  .window(window::tumbling::of(std::chrono::milliseconds{10}))
                  .aggregate(check::counter{})
                  .late_records();
  auto late_session = in.key_by(check::key_of{})
                          .window(window::session::with_gap(std::chrono::milliseconds{10}))
                          .aggregate(check::counter{})
                          .late_records();
  window::assigner any = window::count::of(3);
  auto late_any = in.key_by(check::key_of{}).window(any).aggregate(check::counter{}).late_records();
  (void)late_session;
  (void)late_any;
#endif
  (void)late;
  return 0;
}
