// floor.futex_pingpong: the floor for a sleeping hand-off (FUTEX_WAIT and
// FUTEX_WAKE on every message), what a blocking wait costs at best.

#include "harness/registry.hpp"
#include "workloads/pingpong.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) { ctx.repeat({"futex", &futex_pingpong_rep}); }

const Registration kCase{{
    .name = "floor.futex_pingpong",
    .group = "floor",
    .description = "token handed back and forth by futex wait/wake on shared words",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
