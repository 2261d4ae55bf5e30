// queue.throughput: shmkit::ByteQueue, one producer and one consumer, 64-byte
// messages, interleaved with a bare shared-memory SPSC ring
// (workloads/bare_ring.hpp), a bare MPMC ring, ByteQueue's algorithm without
// its features (workloads/bare_mpmc_ring.hpp), and one direction of a
// shmkit::Pipe, the single-producer single-consumer path; ByteQueue and Pipe
// each one at a time and in batches of 32. Issue 5's goal: at least as fast
// as the SPSC ring.

#include "harness/registry.hpp"
#include "workloads/bare_mpmc_ring.hpp"
#include "workloads/bare_ring.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

// Each system's waits per message too: which side set the pace.
constexpr StreamWaits kWaits = StreamWaits::record;

void run(Context& ctx) {
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { queue_throughput_rep(c, s, 1, {}, kWaits); }},
      {"bare ring", [](Context& c, const std::string& s) { bare_ring_throughput_rep(c, s); }},
      {kQueueBatchSystem,
       [](Context& c, const std::string& s) {
         queue_throughput_rep(c, s, kQueueBatch, {}, kWaits);
       }},
      {kPipeSystem,
       [](Context& c, const std::string& s) { pipe_throughput_rep(c, s, 1, {}, kWaits); }},
      {kPipeBatchSystem,
       [](Context& c, const std::string& s) {
         pipe_throughput_rep(c, s, kQueueBatch, {}, kWaits);
       }},
      {"bare MPMC ring",
       [](Context& c, const std::string& s) { bare_mpmc_ring_throughput_rep(c, s); }},
  });
  ctx.ratio({.metric = metrics::kMsgs64.name,
             .numerator = "shmkit",
             .denominator = "bare ring",
             .goal_at_least = 1.0,
             .goal_source = "issue 5"});
  ctx.ratio({.metric = metrics::kMsgs64.name,
             .numerator = kQueueBatchSystem,
             .denominator = "bare ring"});
  // Where ByteQueue's gap to the ring lies: in the algorithm (MPMC ring /
  // ring) or in its features (shmkit / MPMC ring).
  ctx.ratio(
      {.metric = metrics::kMsgs64.name, .numerator = "bare MPMC ring", .denominator = "bare ring"});
  ctx.ratio(
      {.metric = metrics::kMsgs64.name, .numerator = "shmkit", .denominator = "bare MPMC ring"});
  ctx.ratio({.metric = metrics::kMsgs64.name,
             .numerator = kPipeSystem,
             .denominator = "bare ring",
             .goal_at_least = 1.0,
             .goal_source = "issue 5"});
  ctx.ratio(
      {.metric = metrics::kMsgs64.name, .numerator = kPipeBatchSystem, .denominator = "bare ring"});
  if (ctx.shared_core()) ctx.note("one CPU: producer and consumer take turns");
}

const Registration kCase{{
    .name = "queue.throughput",
    .group = "queue",
    .description = "shmkit::ByteQueue 1 producer 1 consumer, 64 B msgs/s (try_push/try_pop, "
                   "and batches of 32) and shmkit::Pipe one way (try_send/try_recv, and batches "
                   "of 32), vs a bare SPSC ring and a bare MPMC ring",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
