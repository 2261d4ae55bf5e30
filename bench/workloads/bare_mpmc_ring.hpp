#pragma once

#include <string>

#include "harness/context.hpp"
#include "workloads/throughput_shared.hpp"

// A bare shared-memory multi-producer multi-consumer ring: the algorithm
// under shmkit's ByteQueue with none of its features, to tell what the
// algorithm costs against the bare SPSC ring (workloads/bare_ring.hpp) from
// what ByteQueue's features cost against the algorithm. D. Vyukov's bounded
// queue: 1024 slots, each a sequence word then one 64-byte message (two cache
// lines, as a ByteQueue slot of 64-byte messages); producers claim a position
// by CAS on a shared tail, consumers by CAS on a shared head, and a slot's
// sequence word hands it over. No names, no participant records, no crash
// recovery, no close, no sleeping: spin on full and empty. Each message is
// copied in and copied out, as ByteQueue's try_push/try_pop do.

namespace shmkit::bench {

// One producer, one consumer (roles 0 and 1), 64-byte messages verified by
// sequence, the consumer doing `work` on each; records metrics::kMsgs64
// and the waits (record_stream_waits) under `system`.
void bare_mpmc_ring_throughput_rep(Context& ctx, const std::string& system, ConsumerWork work = {});

}  // namespace shmkit::bench
