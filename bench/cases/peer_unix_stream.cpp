// peer.unix_stream: a SOCK_STREAM socketpair(AF_UNIX).

#include "harness/registry.hpp"
#include "workloads/fd_peers.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.repeat({"unix stream", [](Context& c, const std::string& s) {
                fd_pingpong_rep(c, s, FdTransport::unix_stream);
                fd_throughput_rep(c, s, FdTransport::unix_stream);
              }});
}

const Registration kCase{{
    .name = "peer.unix_stream",
    .group = "peer",
    .description = "Unix-domain stream socket: 64 B message ping-pong and one-way stream",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
