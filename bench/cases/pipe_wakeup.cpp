// pipe.wakeup: a 64-byte message to a receiver asleep in the kernel, shmkit's
// Pipe (blocking recv) against a bare futex, interleaved; one-way latency from
// the send to the receiver running again (workloads/wakeup.hpp), and the
// receiver's CPU time per message (no goal). Issue 5's sleeping-mode goal:
// one-way p50 within 1.1x of the bare futex.

#include "harness/registry.hpp"
#include "workloads/wakeup.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.interleave({
      {"shmkit", &pipe_wakeup_rep},
      {"futex", &futex_wakeup_rep},
  });
  ctx.ratio({.metric = metrics::kOneWayP50.name,
             .numerator = "shmkit",
             .denominator = "futex",
             .goal_at_most = 1.1,
             .goal_source = "issue 5"});
  ctx.ratio({.metric = kReceiverCpu.name, .numerator = "shmkit", .denominator = "futex"});
  ctx.note("one-way: send to the sleeping receiver running again, 300 us between messages");
}

const Registration kCase{{
    .name = "pipe.wakeup",
    .group = "pipe",
    .description = "shmkit::Pipe 64 B to a receiver asleep in recv, vs a bare futex wake-up",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
