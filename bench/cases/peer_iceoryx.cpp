// peer.iceoryx: eclipse iceoryx 2.0 publish/subscribe, with a RouDi of its
// own in private namespaces (workloads/iceoryx_peer.hpp), interleaved with
// shmkit: Pipe busy-polling for the ping-pong (iceoryx's take() is polled
// too), Pipe's blocking send/recv for iceoryx's WaitSet ping-pong, ByteQueue
// for the 64 B stream, and ByteQueue's zero-copy reserve/read for the 64 KiB
// and 1 MiB streams (iceoryx's loans are zero-copy).

#include "harness/registry.hpp"

#if SHMKIT_BENCH_HAVE_ICEORYX

#include <string>

#include "workloads/bulk.hpp"
#include "workloads/iceoryx_peer.hpp"
#include "workloads/shmkit_channels.hpp"
#endif

namespace shmkit::bench {
namespace {

#if SHMKIT_BENCH_HAVE_ICEORYX

void run(Context& ctx) {
  IceoryxPeer iceoryx(ctx);  // throws CaseSkipped where it cannot have its namespaces
  const std::string peer = "iceoryx";
  // The blocking ping-pongs, recorded by the same repetitions.
  const std::string shmkit_blocking = "shmkit blocking";
  const std::string peer_waitset = "iceoryx WaitSet";
  ctx.interleave({
      {"shmkit",
       [&](Context& c, const std::string& s) {
         pipe_pingpong_rep(c, s, PipeWaiting::spin);
         pipe_pingpong_rep(c, shmkit_blocking, PipeWaiting::sleep);
         queue_throughput_rep(c, s, 1);
         queue_bandwidth_rep(c, s, BulkPath::zero_copy);
       }},
      {peer, [&](Context& c, const std::string& s) { iceoryx.rep(c, s, peer_waitset); }},
  });
  for (const Metric* m : {&metrics::kOneWayP50, &metrics::kOneWayP99, &metrics::kMsgs64,
                          &metrics::kMsgs64K, &metrics::kMsgs1M}) {
    ctx.ratio({.metric = m->name, .numerator = "shmkit", .denominator = peer});
  }
  for (const Metric* m : {&metrics::kOneWayP50, &metrics::kOneWayP99}) {
    ctx.ratio({.metric = m->name, .numerator = shmkit_blocking, .denominator = peer_waitset});
  }
  ctx.note(std::string("iceoryx ") + IceoryxPeer::version() +
           ": its own RouDi in private mount, IPC and PID namespaces, started once per case; "
           "each repetition's 2 processes register and wait for RouDi to connect them (untimed)");
  ctx.note("ping-pong: both sides busy-poll (shmkit Pipe try_send/try_recv; iceoryx take())");
  ctx.note(
      "blocking ping-pong: shmkit's send/recv spin briefly, then sleep (futex), so a prompt "
      "reply never sleeps; iceoryx's WaitSet::wait() sleeps (semaphore) whenever nothing has "
      "arrived");
  ctx.note(
      "64 B stream: iceoryx's subscriber queue 256 deep (its maximum), blocking the publisher "
      "when full, so nothing is dropped; shmkit's ByteQueue 1024");
  ctx.note(
      "64 KiB and 1 MiB: zero-copy on both sides (iceoryx loan/publish, take/release; shmkit "
      "try_reserve/commit, try_read/release), every byte written and checked in place; queues " +
      std::to_string(kBulkDepths[0]) + " and " + std::to_string(kBulkDepths[1]) + " deep");
  if (ctx.shared_core()) ctx.note("one CPU: the two processes take turns");
}

#else

constexpr CaseRun run = nullptr;

#endif

const Registration kCase{
    {.name = "peer.iceoryx",
     .group = "peer",
     .description =
         "eclipse iceoryx publish/subscribe (own RouDi): 64 B ping-pong (polling, "
         "WaitSet), 64 B stream, 64 KiB and 1 MiB zero-copy, vs shmkit Pipe and ByteQueue",
     .run = run},
    SHMKIT_BENCH_MISSING_ICEORYX};

}  // namespace
}  // namespace shmkit::bench
