// A custom actor as a pipeline stage. The stage is an ordinary stateful CAF
// actor: it receives batches of transactions as std::vector<int64_t> amounts
// (in cents) and replies with the running balance after each one. Sluice
// spawns one such actor per parallel instance and does batching, credits,
// backpressure, watermarks and shutdown around it.
//
// The ledger's balance survives failures: its interface includes the
// snapshot and restore handlers (stateful_stage_actor), so with checkpoints
// Sluice stores the balance with every checkpoint and hands it back to the
// new actor after a restart, before any transaction. Killed and started
// again with the same state directory, the job writes the exact balances.
//
//   custom_actor [--count 100000] [--output balances.csv] [--rate 0]
//                [--state-dir DIR --checkpoint-ms N]
#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include <string>
#include <vector>

#include "sluice/actors/actor_stage.hpp"
#include "sluice/run.hpp"

namespace {

// The user's actor: state lives in the actor, the reply is the stage output.
// Typed, so the stage's output type is deduced from its handle (an untyped
// caf::actor works too: then name it, `via_actor<int64_t>(...)`, and add
// `sluice::actors::with_state<int64_t>` to keep its state). Its state (the
// balance, an int64_t) is what it answers to the snapshot request.
using ledger_actor = sluice::actors::stateful_stage_actor<int64_t, int64_t, int64_t>;

struct ledger_state {
  int64_t balance = 0;
};

ledger_actor::behavior_type ledger(ledger_actor::stateful_pointer<ledger_state> self,
                                   int64_t opening_balance) {
  self->state.balance = opening_balance;
  return {
      [self](std::vector<int64_t>& amounts) {
        std::vector<int64_t> balances;
        balances.reserve(amounts.size());
        for (auto a : amounts)
          balances.push_back(self->state.balance += a);
        return balances;
      },
      // A checkpoint barrier passed the stage: its state goes into the checkpoint.
      [self](sluice::actors::snapshot_atom, uint64_t /*checkpoint*/) {
        return self->state.balance;
      },
      // After a restart: the balance of the checkpoint restored, before any batch.
      [self](sluice::actors::restore_atom, int64_t balance) { self->state.balance = balance; },
  };
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t count = 100000;
  std::string output = "balances.csv";
  double rate = 0;
  sluice::runtime_config cfg;
  CLI::App app{"Runs a user-defined CAF actor as a Sluice stage"};
  app.add_option("--count", count, "number of transactions");
  app.add_option("--output", output, "CSV file of running balances");
  app.add_option("--rate", rate, "transactions per second (0: as fast as possible)");
  sluice::add_runtime_options(app, cfg);
  CLI11_PARSE(app, argc, argv);

  sluice::pipeline p{"custom_actor"};
  auto amounts =
      p.generate(count, [](uint64_t i) { return static_cast<int64_t>(i % 7) * 100 - 250; })
          .name("transactions")
          .rate_limit(rate);
  amounts.via_actor("ledger", [](caf::actor_system& sys) { return sys.spawn(ledger, int64_t{0}); })
      .parallelism(1)
      .write_csv(output)
      .name("write");
  return sluice::run(p, cfg);
}
