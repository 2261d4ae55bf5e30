// pipe.pingpong_sleep: shmkit::Pipe, 64-byte messages, blocking send/recv (a
// short spin, then a futex sleep), interleaved with the bare futex ping-pong.
// Issue 5's goal: one-way p50 within 1.1x of that floor.

#include "harness/registry.hpp"
#include "workloads/pingpong.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { pipe_pingpong_rep(c, s, PipeWaiting::sleep); }},
      {"futex", &futex_pingpong_rep},
  });
  ctx.ratio({.metric = metrics::kOneWayP50.name,
             .numerator = "shmkit",
             .denominator = "futex",
             .goal_at_most = 1.1,
             .goal_source = "issue 5"});
  ctx.note(
      "shmkit's recv spins briefly before it sleeps, so a prompt reply never sleeps; "
      "the futex floor always sleeps");
}

const Registration kCase{{
    .name = "pipe.pingpong_sleep",
    .group = "pipe",
    .description = "shmkit::Pipe 64 B ping-pong, blocking send/recv (futex), vs the futex floor",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
