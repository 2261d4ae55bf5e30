#pragma once

#include <string>

#include "harness/context.hpp"
#include "workloads/throughput_shared.hpp"

// A bare shared-memory ring: the baseline for shmkit's Queue throughput
// (issue 5: "at least as fast as a bare shared-memory ring with no
// features"). A Lamport single-producer single-consumer ring of 1024 64-byte
// slots with cached indices: the producer re-reads the consumer's index only
// when its cached copy says the ring is full, the consumer re-reads the
// producer's only when its copy says empty. No names, no crash recovery, no
// close, no sleeping: spin on full and empty. Each message is copied in and
// copied out, as ByteQueue's try_push/try_pop do.

namespace shmkit::bench {

// One producer, one consumer (roles 0 and 1), 64-byte messages verified by
// sequence, the consumer doing `work` on each; records metrics::kMsgs64
// and the waits (record_stream_waits) under `system`.
void bare_ring_throughput_rep(Context& ctx, const std::string& system, ConsumerWork work = {});

}  // namespace shmkit::bench
