#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "shmkit/detail/segment_layout.hpp"

// Shared layout of a queue (kind queue), versioned by kLayoutVersion
// (segment_layout.hpp). Prose: docs/design/layout.md.
//
// A bounded MPMC ring of fixed-size slots, after D. Vyukov's bounded queue:
// each slot's `seq` says whose turn it is at position pos (slot pos % count):
//   seq == pos        free: the producer of pos may write it
//   seq == pos + 1    committed: the consumer of pos may read it
//   seq == pos + count   released: free for the producer of pos + count
// Producers claim positions by CAS on `tail`, consumers by CAS on `head`
// (a thread holding its role's lease, below, by a plain store).
//
// Crash robustness: before its claim CAS, every producer or consumer thread
// writes the positions it is claiming, [pending_begin, pending_end), into its
// own Participant record, and clears them after its commit or release. A
// slot claimed but left unfinished (tail or head past it, seq not advanced)
// whose position no participant of a live process covers belongs to a dead
// process, and any waiter may finish it: a producer's slot becomes a
// tombstone (skipped by consumers), a consumer's slot is released (the
// message it had taken is lost: at most once). A claim lives as long as its
// process, not its thread: a Reservation or Message may be finished on
// another thread after the one that made it has exited. So a record whose
// thread is dead is taken over only once its range is empty, or its process
// is dead too and the range's slots are finished.
//
// Lease: a thread alone in its role (the only live producer, or consumer)
// when it registers may hold that role's lease. The holder moves its index
// with a plain store instead of a CAS: no locked instruction on the one
// fixed index word per message. Before the store it records its claim, and
// it loads the lease after that (a compiler barrier between them). A thread
// that registers later in the role revokes the lease: it marks it
// kQueueLeaseRevoking, calls membarrier (platform/remote_fence.hpp), which
// runs a full fence on the holder's CPU, so either the holder's next lease
// load sees the mark or its recorded claim is visible. It then waits until
// that claim's index store is visible (or the holder acknowledged, left or died) and
// clears the lease; the role's threads then use the CAS (until one
// registers alone again).
// Because the holder's index store has no fence, a consumer that is about to
// report "closed and drained" while a producer lease is held runs
// membarrier before it loads `tail` (the producer re-checks `closed` after
// its store).
//
// Hand-overs: a commit (a release) is a store of the slot's seq and then a
// load of the other role's waiting bits, and a waiter about to sleep sets
// its bit and then re-checks the slot (Dekker). A thread of a process that
// cannot fence remotely stores and loads seq_cst. A thread of a light
// process (platform/remote_fence.hpp) commits (releases) with no fence: it
// sets its role's flag, light_producers (light_consumers), with a seq_cst
// read-modify-write when it registers, before its first hand-over, and a
// waiter of the other role about to sleep that sees the flag set calls
// membarrier between setting its bit and its re-check, which runs the
// fence on the busy side's CPU for it (one that cannot sleeps in short
// steps). A waiter that read the flag as 0 did so before the raise, so its
// bit is visible to the raiser's loads after it. A store, not a CAS, either
// way: a recoverer only finishes a slot whose holder is dead.

namespace shmkit::detail {

inline constexpr std::uint32_t kQueueMaxParticipants = 64;         // per role
inline constexpr std::uint32_t kQueueTombstone = 0xffffffffu;      // slot length: skip me
inline constexpr std::uint32_t kQueueLeaseRevoking = 0x80000000u;  // lease flag: being revoked
inline constexpr std::uint64_t kQueueSlotHeader = 16;
inline constexpr std::uint32_t kQueueMaxSlots = std::uint32_t{1} << 24;     // per ring
inline constexpr std::uint32_t kQueueMaxMessage = std::uint32_t{64} << 20;  // 64 MiB

// Bytes of a queue's slot (header and payload) for messages of up to
// `max_message` bytes, in whole cache lines: a consumer releases a slot by
// writing its seq, so slots that shared a line would pass it back and forth
// between a consumer releasing one and a producer writing the next (packed
// on 16 bytes, as a pipe's, queue.throughput ran batches of 32 at 26 against
// 43-47 M msgs/s). A pipe's slots: pipe_slot_size_for(), pipe_layout.hpp.
constexpr std::uint64_t slot_size_for(std::uint32_t max_message) noexcept {
  return round_up(kQueueSlotHeader + max_message, kCacheLine);
}

struct QueueSlot {
  std::atomic<std::uint64_t> seq;     // see above; CAS by producers, consumers, recoverers
  std::atomic<std::uint32_t> length;  // payload bytes, or kQueueTombstone; producer of pos
  std::uint32_t reserved;             // zero
  // the payload follows, max_message bytes
};
static_assert(sizeof(QueueSlot) == kQueueSlotHeader);
static_assert(offsetof(QueueSlot, length) == 8);

// The header of the slot that starts at `slot` (in a ring of a mapped
// segment); its payload starts at slot + kQueueSlotHeader.
inline QueueSlot& slot_header(std::byte* slot) noexcept {
  return *std::launder(reinterpret_cast<QueueSlot*>(slot));  // NOLINT: mapped layout
}

// One producer or consumer thread. Each on its own cache line.
struct alignas(kCacheLine) QueueParticipant {
  std::atomic<std::uint64_t> who;            // packed thread identity; 0 free; CAS to claim
  std::atomic<std::uint64_t> pending_begin;  // positions being claimed/held; owner only
  // begin == end: none. Cleared by whichever thread of the owner's process
  // finishes the claim (a Reservation or Message may move between threads).
  std::atomic<std::uint64_t> pending_end;
  // Packed identity of `who`'s process: the claim's lifetime (see above).
  // Written by the thread that claims the record, after its CAS on `who` and
  // before its first claim (whose index move releases it); 0 or the
  // previous owner's only in between, while the record holds no claim.
  std::atomic<std::uint64_t> process;
};
static_assert(sizeof(QueueParticipant) == kCacheLine);
static_assert(offsetof(QueueParticipant, pending_begin) == 8);
static_assert(offsetof(QueueParticipant, pending_end) == 16);
static_assert(offsetof(QueueParticipant, process) == 24);

// The padding is the layout: hot words on cache lines of their own.
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding)
struct QueueHead {
  // --- written by the creator, immutable afterwards ---
  std::uint32_t slot_count;    // power of two, >= 2
  std::uint32_t max_message;   // bytes
  std::uint64_t slot_size;     // bytes per slot: slot_size_for(max_message)
  std::uint64_t slots_offset;  // from the start of the data area
  std::uint64_t reserved0;
  // On the read-mostly first line: set once by close(), read by every push.
  std::atomic<std::uint32_t> closed;  // 1 once close() ran
  // The role's lease (see above): 0 none, else holder's record index + 1,
  // with kQueueLeaseRevoking while revoked. CAS by registering threads, the
  // holder (acknowledge, leave); read by the holder on every claim.
  std::atomic<std::uint32_t> producer_lease;
  std::atomic<std::uint32_t> consumer_lease;
  // 1 once a consumer thread of a light process registered: its releases
  // may be unfenced, and a producer calls membarrier before it sleeps (see
  // above). Set by registering consumers (seq_cst fetch_or), never cleared;
  // read by producers about to sleep.
  std::atomic<std::uint32_t> light_consumers;
  // The same for producers and their commits: set by registering producers,
  // read by consumers about to sleep.
  std::atomic<std::uint32_t> light_producers;

  alignas(kCacheLine) std::atomic<std::uint64_t> tail;  // next position for producers
  alignas(kCacheLine) std::atomic<std::uint64_t> head;  // next position for consumers

  // Futex words: not_empty bumped by producers, not_full by consumers; both
  // by close(), and by interrupt(), which any handle may call.
  alignas(kCacheLine) std::atomic<std::uint32_t> not_empty;
  std::atomic<std::uint32_t> not_full;
  // The sleepers of each role, a bit per participant record: bit i is set
  // while consumers[i] (producers[i]) is asleep or about to sleep. Set and
  // cleared by that record's thread around each sleep (seq_cst fetch_or,
  // relaxed fetch_and); cleared for a thread that died asleep by whoever
  // takes its record over, and by a waker whose wake-up woke nobody and that
  // finds the record's thread dead. A count could not tell whose increment
  // a dead thread left behind, and every later hand-over would then make a
  // system call.
  std::atomic<std::uint64_t> consumers_waiting;
  std::atomic<std::uint64_t> producers_waiting;

  alignas(kCacheLine) QueueParticipant producers[kQueueMaxParticipants];
  QueueParticipant consumers[kQueueMaxParticipants];
};

static_assert(std::is_standard_layout_v<QueueHead>);
static_assert(std::is_trivially_destructible_v<QueueHead>);
static_assert(offsetof(QueueHead, slot_count) == 0);
static_assert(offsetof(QueueHead, max_message) == 4);
static_assert(offsetof(QueueHead, slot_size) == 8);
static_assert(offsetof(QueueHead, slots_offset) == 16);
static_assert(offsetof(QueueHead, tail) == 64);
static_assert(offsetof(QueueHead, head) == 128);
static_assert(offsetof(QueueHead, not_empty) == 192);
static_assert(offsetof(QueueHead, not_full) == 196);
static_assert(offsetof(QueueHead, consumers_waiting) == 200);
static_assert(offsetof(QueueHead, producers_waiting) == 208);
static_assert(kQueueMaxParticipants <= 64, "a waiting bit per record");
static_assert(offsetof(QueueHead, closed) == 32);
static_assert(offsetof(QueueHead, producer_lease) == 36);
static_assert(offsetof(QueueHead, consumer_lease) == 40);
static_assert(offsetof(QueueHead, light_consumers) == 44);
static_assert(offsetof(QueueHead, light_producers) == 48);

// Where a queue's slots begin in its data area: on a 128-byte boundary, as a
// pipe's rings, so that a two-line slot is one pair for the adjacent-line
// prefetcher.
constexpr std::uint64_t queue_slots_offset() noexcept {
  return round_up(sizeof(QueueHead), 2 * kCacheLine);
}

// Bytes of one ring of `slot_count` slots of `slot_size` bytes, padded to a
// 128-byte boundary, so that a ring after it starts on one as the first does.
constexpr std::uint64_t ring_size(std::uint32_t slot_count, std::uint64_t slot_size) noexcept {
  return round_up(std::uint64_t{slot_count} * slot_size, 2 * kCacheLine);
}

// Bytes of a data area of `head_bytes`, then `rings` rings of `slot_count`
// slots of `slot_size` bytes. At most 2 x 2^24 slots of 64 MiB + 64 bytes: no
// overflow in 64 bits.
constexpr std::uint64_t ring_area_size(std::uint64_t head_bytes, unsigned rings,
                                       std::uint32_t slot_count, std::uint64_t slot_size) noexcept {
  return head_bytes + std::uint64_t{rings} * ring_size(slot_count, slot_size);
}

// Bytes of the data area of a queue of `slot_count` slots of `max_message`.
constexpr std::uint64_t queue_data_size(std::uint32_t slot_count,
                                        std::uint32_t max_message) noexcept {
  return ring_area_size(queue_slots_offset(), 1, slot_count, slot_size_for(max_message));
}
static_assert(offsetof(QueueHead, producers) == 256);
static_assert(offsetof(QueueHead, consumers) == 256 + 64 * 64);
static_assert(sizeof(QueueHead) == 256 + 2 * 64 * 64);

}  // namespace shmkit::detail
