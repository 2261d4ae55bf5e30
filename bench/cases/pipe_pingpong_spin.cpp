// pipe.pingpong_spin: shmkit::Pipe, 64-byte messages, both sides busy-polling
// (try_send / try_recv), interleaved with the raw cache-line ping-pong, a line
// per direction as the Pipe's two rings have (issue 5's goal: one-way p50
// within 1.5x of it), and with the one-line ping-pong, the faster floor of a
// token that both sides write (reported, no goal).

#include "harness/registry.hpp"
#include "workloads/pingpong.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { pipe_pingpong_rep(c, s, PipeWaiting::spin); }},
      {"hardware", &cacheline_pingpong_rep},
      {"one line", &cacheline_token_rep},
  });
  ctx.ratio({.metric = metrics::kOneWayP50.name,
             .numerator = "shmkit",
             .denominator = "hardware",
             .goal_at_most = 1.5,
             .goal_source = "issue 5"});
  ctx.ratio({.metric = metrics::kOneWayP99.name, .numerator = "shmkit", .denominator = "hardware"});
  ctx.ratio({.metric = metrics::kOneWayP50.name, .numerator = "shmkit", .denominator = "one line"});
  if (ctx.shared_core()) ctx.note("one CPU: the two processes take turns, not a hardware figure");
}

const Registration kCase{{
    .name = "pipe.pingpong_spin",
    .group = "pipe",
    .description = "shmkit::Pipe 64 B ping-pong, try_send/try_recv busy-polling, vs the "
                   "cache-line floor",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
