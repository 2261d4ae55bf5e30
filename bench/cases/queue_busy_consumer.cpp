// queue.busy_consumer: queue.throughput's streams with a consumer that works
// on each message (ConsumerWork, workloads/throughput_shared.hpp: 80
// dependent multiply-xor steps; the bare ring's consumer, doing only that,
// keeps up with about 15 M msgs/s here), so that the consumer sets the pace
// and the producer waits for room, as in most real pipelines. shmkit::ByteQueue one message at a
// time and shmkit::Pipe one way, interleaved with the bare SPSC ring and the bare MPMC ring doing
// the same work. What it shows: how much each adds to a consumer's cost per message once the
// consumer is the bottleneck.

#include "harness/registry.hpp"
#include "workloads/bare_mpmc_ring.hpp"
#include "workloads/bare_ring.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

constexpr ConsumerWork kWork{.rounds = 10};
constexpr StreamWaits kWaits = StreamWaits::record;  // which side set the pace

void run(Context& ctx) {
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { queue_throughput_rep(c, s, 1, kWork, kWaits); }},
      {"bare ring",
       [](Context& c, const std::string& s) { bare_ring_throughput_rep(c, s, kWork); }},
      {kPipeSystem,
       [](Context& c, const std::string& s) { pipe_throughput_rep(c, s, 1, kWork, kWaits); }},
      {"bare MPMC ring",
       [](Context& c, const std::string& s) { bare_mpmc_ring_throughput_rep(c, s, kWork); }},
  });
  ctx.ratio({.metric = metrics::kMsgs64.name, .numerator = "shmkit", .denominator = "bare ring"});
  ctx.ratio(
      {.metric = metrics::kMsgs64.name, .numerator = "shmkit", .denominator = "bare MPMC ring"});
  ctx.ratio(
      {.metric = metrics::kMsgs64.name, .numerator = kPipeSystem, .denominator = "bare ring"});
  if (ctx.shared_core()) ctx.note("one CPU: producer and consumer take turns");
}

const Registration kCase{{
    .name = "queue.busy_consumer",
    .group = "queue",
    .description = "shmkit::ByteQueue and shmkit::Pipe 1 producer 1 consumer, 64 B msgs/s, the "
                   "consumer hashing each message (80 multiply-xor steps) vs a bare SPSC ring and "
                   "a bare MPMC ring doing the same",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
