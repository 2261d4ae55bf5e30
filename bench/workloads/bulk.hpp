#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "harness/context.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "workloads/throughput_shared.hpp"

// Bulk transfers: 64 KiB and 1 MiB messages, in GB/s (10^9 bytes a second).
// floor.memcpy measures one core copying them (the ceiling for anything that
// copies a message once, in one core's caches); queue.bandwidth passes them
// through a shmkit::ByteQueue and runs, interleaved, that copy and a bare
// ring written and read in place by two processes (workloads/bulk_ring.hpp:
// the floor for moving a message from one core to another); the peers pass
// them through theirs. All record under the same metrics, so the figures
// line up.
//
// Every bulk stream writes and checks its messages with the functions below,
// and is measured as every stream is (workloads/throughput_shared.hpp).

namespace shmkit::bench {

inline constexpr std::size_t k64KiB = std::size_t{64} << 10;
inline constexpr std::size_t k1MiB = std::size_t{1} << 20;
inline constexpr std::array<std::size_t, 2> kBulkSizes = {k64KiB, k1MiB};

namespace metrics {
// Bytes of 64 KiB (1 MiB) messages that arrived per second: copied once by
// memcpy, or delivered from sender to receiver by shmkit or a peer.
inline const Metric kMsgs64K{"64 KiB msgs", "GB/s", Better::higher};
inline const Metric kMsgs1M{"1 MiB msgs", "GB/s", Better::higher};
}  // namespace metrics

// Messages in flight in a queue of each of kBulkSizes, every system alike
// where it can: enough that a hiccup on one side (a preemption, a page fault)
// does not stall the other at once; few enough that the 64 KiB slots in
// flight stay in the L2 caches (16 x 64 KiB = 1 MiB). No few 1 MiB slots fit
// a cache; 8 keep that queue at 8 MiB of /dev/shm. On the busy 2-vCPU
// development VM, 4, 8, 16 and 32 slots of 64 KiB were within the noise of
// one another (so were a bare two-thread ring's): worth retrying on an idle
// machine with more cores.
inline constexpr std::array<std::uint32_t, kBulkSizes.size()> kBulkDepths = {16, 8};

// The metric of `size`-byte messages (one of kBulkSizes).
const Metric& bulk_metric(std::size_t size);

// Messages a bulk stream's measured interval takes at least (ThroughputTimer's
// min_count): with 1 MiB messages on a slow or busy machine, the interval may
// hold only a few.
inline constexpr std::size_t kMinBulkMessages = 8;

// --- Bulk messages ------------------------------------------------------------

// A copied message: the sequence number in its first, middle and last words.
// A lost, reordered, truncated or half-copied message breaks one.
void bulk_stamp(std::span<std::byte> m, std::uint64_t seq) noexcept;
// Throws CaseFailure, naming `who`, unless `m` is `size` bytes stamped `expected`.
void bulk_check_stamps(std::span<const std::byte> m, std::size_t size, std::uint64_t expected,
                       const char* who);

// A message written in place (zero-copy): every byte of it, the low byte of
// the sequence number, with the number itself in the first and last words.
// A stale or partly written slot shows.
void bulk_fill(std::span<std::byte> m, std::uint64_t seq) noexcept;
// Reads every byte of `m` in place, as any use of the data would, and throws
// CaseFailure unless it is `size` bytes filled for `expected`.
void bulk_check_fill(std::span<const std::byte> m, std::size_t size, std::uint64_t expected,
                     const char* who);

// The stop message of a bulk stream: one word, Message64::kStop.
inline constexpr std::size_t kBulkStopSize = sizeof(std::uint64_t);
void bulk_stop(std::span<std::byte> m) noexcept;  // writes it at the start of `m`
bool is_bulk_stop(std::span<const std::byte> m) noexcept;

// Records s's messages per second x `size` bytes as bulk_metric(size).
void record_bandwidth(Context& ctx, const std::string& system, std::size_t size,
                      const ThroughputShared& s);

// One bulk stream of a repetition that counts what it carried (zeroed).
struct BulkRound {
  alignas(kCacheLine) StartLine start;
  ThroughputShared stream;
  alignas(kCacheLine) std::uint64_t sent;  // written by the sender at the end
  std::uint64_t delivered;                 // written by the receiver at the end
};

// record_bandwidth, after a check that every message sent was delivered.
void record_bandwidth(Context& ctx, const std::string& system, std::size_t size,
                      const BulkRound& r);

// --- Workloads ----------------------------------------------------------------

// One process (role 0) copies each of kBulkSizes with memcpy for
// duration() / 2, cache-warm, each copy stamped and checked; records
// metrics::kMsgs64K and kMsgs1M under `system`.
void memcpy_bandwidth_rep(Context& ctx, const std::string& system);

enum class BulkPath {
  copy,       // try_push from a local buffer, try_pop into another one
  zero_copy,  // try_reserve, fill in place, commit; try_read, check in place, release
};

// shmkit::ByteQueue, one producer (role 0) and one consumer (role 1), for
// each of kBulkSizes in turn for duration() / 2 after a warm-up; records
// metrics::kMsgs64K and kMsgs1M, message bytes the consumer verified per
// second.
void queue_bandwidth_rep(Context& ctx, const std::string& system, BulkPath path);

// The zero-copy path of queue_bandwidth_rep with a bare ring (BulkRing, the
// same depths) in place of the ByteQueue: the same producer and consumer
// code, the same fill, check and measurement. The floor for any transport
// that moves a message between two cores.
void bare_ring_bandwidth_rep(Context& ctx, const std::string& system);

}  // namespace shmkit::bench
