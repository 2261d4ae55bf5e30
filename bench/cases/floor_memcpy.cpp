// floor.memcpy: single-core memcpy bandwidth, the ceiling for any transport
// that copies a message once (GB/s = bytes copied / s; reads are not counted).
// One core in its own caches: moving bytes to another core is bounded
// lower, by queue.bandwidth's bare ring (the cross-core floor). The workload
// (workloads/bulk.cpp) also runs inside queue.bandwidth, interleaved with the
// queue and that ring.

#include "harness/registry.hpp"
#include "workloads/bulk.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) { ctx.repeat({"memcpy", &memcpy_bandwidth_rep}); }

const Registration kCase{{
    .name = "floor.memcpy",
    .group = "floor",
    .description = "single-core memcpy bandwidth, 64 KiB and 1 MiB blocks (cache-warm)",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
