// peer.unix_seqpacket: a SOCK_SEQPACKET socketpair(AF_UNIX), message boundaries kept.

#include "harness/registry.hpp"
#include "workloads/fd_peers.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.repeat({"unix seqpacket", [](Context& c, const std::string& s) {
                fd_pingpong_rep(c, s, FdTransport::unix_seqpacket);
                fd_throughput_rep(c, s, FdTransport::unix_seqpacket);
              }});
}

const Registration kCase{{
    .name = "peer.unix_seqpacket",
    .group = "peer",
    .description = "Unix-domain seqpacket socket: 64 B message ping-pong and one-way stream",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
