// queue.bandwidth: shmkit::ByteQueue moving 64 KiB and 1 MiB messages from one
// producer process to one consumer process, by copy (try_push / try_pop) and
// in place (try_reserve + commit / try_read + release), interleaved with two
// floors (workloads/bulk.hpp): floor.memcpy's single-core memcpy of the same
// blocks, and a bare ring between two pinned processes, the zero-copy path
// without shmkit (workloads/bulk_ring.hpp). Issue 5's goals, for 64 KiB: the
// copy path at least 0.8x memcpy, the zero-copy path faster than memcpy.
// memcpy runs in one core's caches, though: the ratios to the bare ring say
// how close shmkit comes to what the hardware allows for moving bytes from
// one core to another (no goal).
//
// What each side does per message (all of it verified by the consumer):
// - copy: the producer stamps its local buffer (first, middle and last word)
//   and try_push()es it (one copy in); the consumer try_pop()s it into its
//   own buffer (one copy out) and checks the stamps. Two copies, on two cores.
// - zero-copy: the producer writes the whole message in the slot (a memset
//   of a byte derived from the sequence number, stamps at both ends) and
//   commits; the consumer reads every byte in place, checks it, and releases.
// - bare ring: as zero-copy, in the slots of a Lamport ring of the same
//   depth (no names, lengths, crash recovery or sleeping), by the same code.
// - memcpy: one core copies a stamped cache-warm block and checks the stamps.

#include "harness/registry.hpp"
#include "workloads/bulk.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.interleave({
      {"memcpy", &memcpy_bandwidth_rep},
      {"bare ring", &bare_ring_bandwidth_rep},
      {"shmkit copy",
       [](Context& c, const std::string& s) { queue_bandwidth_rep(c, s, BulkPath::copy); }},
      {"shmkit zero-copy",
       [](Context& c, const std::string& s) { queue_bandwidth_rep(c, s, BulkPath::zero_copy); }},
  });
  ctx.ratio({.metric = metrics::kMsgs64K.name,
             .numerator = "shmkit copy",
             .denominator = "memcpy",
             .goal_at_least = 0.8,
             .goal_source = "issue 5"});
  ctx.ratio({.metric = metrics::kMsgs64K.name,
             .numerator = "shmkit zero-copy",
             .denominator = "memcpy",
             .goal_at_least = 1.0,
             .goal_source = "issue 5"});
  ctx.ratio({.metric = metrics::kMsgs1M.name, .numerator = "shmkit copy", .denominator = "memcpy"});
  ctx.ratio(
      {.metric = metrics::kMsgs1M.name, .numerator = "shmkit zero-copy", .denominator = "memcpy"});
  // How close shmkit comes to the hardware's cross-core floor (no goal).
  for (const Metric* metric : {&metrics::kMsgs64K, &metrics::kMsgs1M}) {
    for (const char* path : {"shmkit copy", "shmkit zero-copy"}) {
      ctx.ratio({.metric = metric->name, .numerator = path, .denominator = "bare ring"});
    }
  }
  ctx.note(
      "memcpy is one core copying within its own cache; the bare ring writes and checks every "
      "byte in place as shmkit zero-copy does, between the same two cores, with nothing else: "
      "the floor for moving a message between cores");
  if (ctx.shared_core()) ctx.note("one CPU: producer and consumer take turns");
}

const Registration kCase{{
    .name = "queue.bandwidth",
    .group = "queue",
    .description = "shmkit::ByteQueue 1 producer 1 consumer, 64 KiB and 1 MiB messages in GB/s, "
                   "copy (try_push/try_pop) and zero-copy (reserve/commit, read/release), vs "
                   "single-core memcpy and a bare cross-core ring (zero-copy without shmkit)",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
