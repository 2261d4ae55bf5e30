// floor.cacheline_pingpong: the latency floor for any hand-off through shared
// memory between two processes on two CPUs.

#include "harness/registry.hpp"
#include "workloads/pingpong.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.repeat({"hardware", &cacheline_pingpong_rep});
  if (ctx.shared_core()) ctx.note("one CPU: the two processes take turns, not a hardware figure");
}

const Registration kCase{{
    .name = "floor.cacheline_pingpong",
    .group = "floor",
    .description = "raw cache-line ping-pong between two processes, one-way = round trip / 2",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
