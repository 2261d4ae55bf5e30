// peer.pipe: pipe(2), the kernel's simplest channel between two processes.

#include "harness/registry.hpp"
#include "workloads/fd_peers.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.repeat({"pipe(2)", [](Context& c, const std::string& s) {
                fd_pingpong_rep(c, s, FdTransport::pipe);
                fd_throughput_rep(c, s, FdTransport::pipe);
              }});
}

const Registration kCase{{
    .name = "peer.pipe",
    .group = "peer",
    .description = "pipe(2): 64 B message ping-pong and one-way stream",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
