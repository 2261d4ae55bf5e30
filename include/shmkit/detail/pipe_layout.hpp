#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "shmkit/detail/queue_layout.hpp"
#include "shmkit/detail/segment_layout.hpp"

// Shared layout of a Pipe (kind pipe), versioned by kLayoutVersion
// (segment_layout.hpp). Prose: docs/design/layout.md.
//
// Two single-producer single-consumer rings of fixed-size slots, one per
// direction: ring 0 carries end 0 -> end 1, ring 1 carries end 1 -> end 0.
// A slot is a QueueSlot (queue_layout.hpp); only the producer writes it. Its
// seq is pos + 1 once the message for position pos is committed (any other
// value: not yet), so the consumer polls the slot itself and a small message
// costs one cache-line transfer. The consumer never writes a slot: it frees
// slots by publishing its position, SpscControl::head, on a line of its own,
// which the producer reads only when its cached copy says the ring is full.
//
// Slots of up to kPipePackedSlotMax bytes (header and payload) are packed on
// 16 bytes, not whole cache lines: a 64-byte message's slot is 80 bytes, and
// a stream moves 1.25 lines a message instead of 2. Packing costs little
// here because the consumer never writes a slot (a queue's consumer does:
// slot_size_for(), queue_layout.hpp). Larger slots start on a line, for the
// streaming copy of large messages (slot_copy.hpp).

namespace shmkit::detail {

inline constexpr std::uint64_t kPipeSlotAlign = 16;  // a packed slot's alignment
inline constexpr std::uint64_t kPipePackedSlotMax = 256;

// Bytes of a pipe's slot (header and payload) for messages of up to
// `max_message` bytes: packed on kPipeSlotAlign up to kPipePackedSlotMax, in
// whole cache lines above. A payload is on 16 bytes either way.
constexpr std::uint64_t pipe_slot_size_for(std::uint32_t max_message) noexcept {
  const std::uint64_t bytes = kQueueSlotHeader + max_message;
  return round_up(bytes, bytes <= kPipePackedSlotMax ? kPipeSlotAlign : kCacheLine);
}
static_assert(pipe_slot_size_for(64) == 80);
static_assert(pipe_slot_size_for(240) == 256);
static_assert(pipe_slot_size_for(241) == 320);
static_assert(kQueueSlotHeader % kPipeSlotAlign == 0);

// One direction's control words, each group on its own cache line so that the
// fast path moves no control line between the cores.
struct SpscControl {
  // Written by the producer only (relaxed), after each commit: its next
  // position, for an endpoint that reopens after its process died.
  alignas(kCacheLine) std::atomic<std::uint64_t> tail;
  // Written by the consumer only (seq_cst), after each message it is done
  // with: positions below head are free for the producer. Read by the
  // producer when its cached copy says the ring is full, and by a process
  // that takes over the consumer's end.
  alignas(kCacheLine) std::atomic<std::uint64_t> head;
  // The consumer sets consumer_waiting before it sleeps on data_seq; the
  // producer bumps data_seq and wakes it.
  alignas(kCacheLine) std::atomic<std::uint32_t> data_seq;
  std::atomic<std::uint32_t> consumer_waiting;
  // The producer sets producer_waiting before it sleeps on space_seq; the
  // consumer bumps space_seq and wakes it.
  alignas(kCacheLine) std::atomic<std::uint32_t> space_seq;
  std::atomic<std::uint32_t> producer_waiting;
};
static_assert(sizeof(SpscControl) == 4 * kCacheLine);
static_assert(offsetof(SpscControl, head) == kCacheLine);
static_assert(offsetof(SpscControl, data_seq) == 2 * kCacheLine);
static_assert(offsetof(SpscControl, consumer_waiting) == 2 * kCacheLine + 4);
static_assert(offsetof(SpscControl, space_seq) == 3 * kCacheLine);
static_assert(offsetof(SpscControl, producer_waiting) == 3 * kCacheLine + 4);

struct PipeEnd {
  // Packed ProcessIdentity of the process holding this end; 0 when free.
  // CAS by the process that opens the end (free or dead holder -> itself).
  alignas(kCacheLine) std::atomic<std::uint64_t> who;
  std::atomic<std::uint32_t> closed;  // 1 once this end closed; written by its holder
  // 1 if the holder publishes its messages and releases without a fence
  // (platform/remote_fence.hpp): a peer about to sleep must then call
  // remote_fence() first. Written by the holder when it takes the end.
  std::atomic<std::uint32_t> light;
};
static_assert(sizeof(PipeEnd) == kCacheLine);

struct PipeHead {
  // --- written by the creator, immutable afterwards ---
  std::uint32_t slot_count;      // per direction; power of two, >= 2
  std::uint32_t max_message;     // bytes
  std::uint64_t slot_size;       // bytes per slot: pipe_slot_size_for(max_message)
  std::uint64_t ring_offset[2];  // from the start of the data area: ring 0, ring 1
  alignas(kCacheLine) PipeEnd ends[2];
  SpscControl control[2];  // control[r] for ring r
};
static_assert(std::is_standard_layout_v<PipeHead>);
static_assert(offsetof(PipeHead, slot_count) == 0);
static_assert(offsetof(PipeHead, slot_size) == 8);
static_assert(offsetof(PipeHead, ring_offset) == 16);
static_assert(offsetof(PipeHead, ends) == 64);
static_assert(offsetof(PipeHead, control) == 192);
static_assert(sizeof(PipeHead) == 192 + 8 * kCacheLine);

}  // namespace shmkit::detail
