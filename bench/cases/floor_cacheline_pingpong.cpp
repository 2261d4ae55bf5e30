// floor.cacheline_pingpong: the latency floor for any hand-off through shared
// memory between two processes on two CPUs: a line per direction ("hardware",
// what a channel per direction can reach) and one line both sides write
// ("one line", a token passed back and forth), interleaved.

#include "harness/registry.hpp"
#include "workloads/pingpong.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.interleave({
      {"hardware", &cacheline_pingpong_rep},
      {"one line", &cacheline_token_rep},
  });
  ctx.ratio(
      {.metric = metrics::kOneWayP50.name, .numerator = "one line", .denominator = "hardware"});
  if (ctx.shared_core()) ctx.note("one CPU: the two processes take turns, not a hardware figure");
}

const Registration kCase{{
    .name = "floor.cacheline_pingpong",
    .group = "floor",
    .description = "raw cache-line ping-pong between two processes, one-way = round trip / 2: a "
                   "line per direction, and one line both sides write",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
