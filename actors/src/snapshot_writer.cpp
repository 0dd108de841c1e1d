#include "sluice/actors/snapshot_writer.hpp"

#include <fmt/format.h>
#include <caf/all.hpp>

#include <chrono>

#include "sluice/actors/fault_injector.hpp"
#include "sluice/actors/messages.hpp"

namespace sluice::actors {

caf::actor spawn_snapshot_writer(caf::actor_system& sys,
                                 std::shared_ptr<state::snapshot_store> store,
                                 caf::actor coordinator, replicate_fn replicate) {
  // Only a weak reference to the coordinator: a detached actor's thread lives
  // until the actor object is destroyed, and a strong reference cycle with the
  // supervisor would keep it (and the actor system's shutdown) waiting.
  // Store and address are passed as spawn arguments, not captures: CAF 0.17
  // dereferences a null argument tuple for function actors spawned without
  // arguments (UBSan reports it in init_fun_factory.hpp).
  auto fun = [](caf::event_based_actor* self, std::shared_ptr<state::snapshot_store> store,
                caf::actor_addr coord, replicate_fn replicate) -> caf::behavior {
    return {
        [self, store, coord, replicate](write_atom, uint64_t id, uint32_t vertex, uint32_t instance,
                                        std::vector<state::snapshot_store::entry>& entries,
                                        int64_t sync_ms, int64_t align_ms) {
          auto t0 = std::chrono::steady_clock::now();
          uint64_t bytes = 0;
          for (auto& e : entries)
            bytes += e.second.size();
          auto r = store->write(checkpoint_id{id}, entries);
          if (r && replicate) {
            try {
              replicate(id, entries);
            } catch (const std::exception& e) {
              r = sluice::error{sluice::errc::io_error,
                                fmt::format("replicating the snapshot failed: {}", e.what())};
            }
          }
          auto async_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - t0)
                              .count();
          if (r)
            faults().at(crash_point::after_snapshot_write, id);
          auto coordinator = caf::actor_cast<caf::actor>(coord);
          if (!coordinator)
            return;
          if (r)
            self->send(coordinator, ack_atom::value, id, vertex, instance, bytes, sync_ms,
                       static_cast<int64_t>(async_ms), align_ms);
          else
            self->send(coordinator, decline_atom::value, id, vertex, instance,
                       fmt::format("writing the snapshot failed: {}", r.error().message));
        },
    };
  };
  return sys.spawn<caf::detached>(fun, std::move(store), coordinator.address(),
                                  std::move(replicate));
}

}  // namespace sluice::actors
