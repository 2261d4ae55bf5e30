// pipe.pingpong_sleep: shmkit::Pipe, 64-byte messages, blocking send/recv (a
// short spin, then a futex sleep), interleaved with the bare futex ping-pong.
// A prompt reply arrives while shmkit's recv still spins, so this measures the
// blocking API in a ping-pong, not its sleeping path: pipe.wakeup does that,
// and carries issue 5's sleeping-mode goal.

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
  ctx.ratio({.metric = metrics::kOneWayP50.name, .numerator = "shmkit", .denominator = "futex"});
  ctx.note(
      "shmkit's recv spins briefly before it sleeps, so a prompt reply never sleeps; "
      "the futex floor always sleeps (pipe.wakeup measures shmkit asleep)");
}

const Registration kCase{{
    .name = "pipe.pingpong_sleep",
    .group = "pipe",
    .description = "shmkit::Pipe 64 B ping-pong, blocking send/recv (futex), vs the futex floor",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
