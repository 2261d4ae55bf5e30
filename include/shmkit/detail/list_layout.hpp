#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/platform/waiter_generations.hpp"
#include "shmkit/sync/mutex_state.hpp"

// Shared layout of a List (kind list), versioned by kLayoutVersion
// (segment_layout.hpp). Prose: docs/design/layout.md.
//
// A list is two append-only logs, each in chunks that never move once made:
//   index: one 64-bit entry per item, naming where its record lies
//          (data chunk << 48 | offset in that chunk);
//   data:  the records; a fixed-size item is its bytes, a variable-length item
//          (string) is a 32-bit length then its bytes.
// Chunk 0 of each log lies in the list's own segment, after this head; chunk k
// >= 1 is a segment of its own, NAME.i<k> or NAME.d<k> (kind list_chunk),
// created by an appender when the previous chunk fills. Index chunk k holds
// index_chunk0_entries << k entries; data chunk k holds at least
// data_chunk0_bytes << k bytes (more if one record needs it).
//
// Appenders (append, extend, set, close) hold append_lock; readers take no
// lock. An appender writes the record, then the index entry, then publishes
// `size` (release); a reader loads `size` (acquire) before any entry below it.
// A set() writes a new record and repoints the entry (release store), so a
// reader sees the old or the new item, never a mix. An appender killed at any
// point leaves nothing published half-written: the next one is told
// owner_died and carries on (a chunk file it made but did not publish is
// replaced).

namespace shmkit::detail {

inline constexpr std::uint32_t kListMaxChunks = 40;
inline constexpr unsigned kListChunkShift = 48;  // index entry: chunk << 48 | offset
inline constexpr std::uint64_t kListOffsetMask = (std::uint64_t{1} << kListChunkShift) - 1;
inline constexpr std::uint64_t kListMaxRecord = std::uint64_t{1} << 30;  // 1 GiB

// The padding is the layout: hot words on cache lines of their own.
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding)
struct ListHead {
  // --- written by the creator, immutable afterwards ---
  std::uint32_t element_size;          // bytes of a fixed-size item; 0: variable-length
  std::uint32_t element_align;         // alignment of records (power of two, <= 64)
  std::uint64_t index_chunk0_entries;  // entries of index chunk 0 (power of two)
  std::uint64_t data_chunk0_bytes;     // bytes of data chunk 0
  std::uint64_t index0_offset;         // from the start of the data area: index chunk 0
  std::uint64_t data0_offset;          // from the start of the data area: data chunk 0
  std::uint64_t reserved0;             // zero
  std::uint64_t reserved1;             // zero

  // --- appenders, under append_lock ---
  alignas(kCacheLine) sync::MutexState append_lock;
  std::uint64_t data_used;                  // bytes used in the last data chunk
  std::atomic<std::uint64_t> bytes_in_use;  // records + index entries (for stat); relaxed
  std::atomic<std::uint32_t> data_chunks;   // data chunks published (>= 1); release
  std::atomic<std::uint32_t> index_chunks;  // index chunks published (>= 1); release

  // --- published to readers ---
  alignas(kCacheLine) std::atomic<std::uint64_t> size;  // items published; release by appenders
  std::atomic<std::uint32_t> append_seq;  // futex word: bumped on each publish and on close
  std::uint32_t reserved2;                // zero (a u32 count of waiters before v5)
  std::atomic<std::uint32_t> closed;      // 1 once close() ran; written under append_lock
  // 1 once any appender publishes without a fence (platform/remote_fence.hpp;
  // set before its first such publish, never cleared): a reader about to
  // sleep must then call remote_fence() first.
  std::atomic<std::uint32_t> light_appenders;
  // Readers asleep or about to sleep in wait_for_size: their count in the low
  // 32 bits (kListWaiterCount), a generation above (ListWaiters,
  // platform/waiter_generations.hpp: readers join, check and leave it; an
  // appender whose wake-up woke nobody drops it). A bare count kept a reader
  // killed asleep counted for good, and every publish made a system call.
  std::atomic<std::uint64_t> waiters;
};
inline constexpr std::uint64_t kListWaiterCount = 0xffffffffu;  // waiters' count bits
using ListWaiters = platform::WaiterGenerations<std::uint64_t, kListWaiterCount>;

static_assert(std::is_standard_layout_v<ListHead>);
static_assert(std::is_trivially_destructible_v<ListHead>);
static_assert(offsetof(ListHead, element_size) == 0);
static_assert(offsetof(ListHead, element_align) == 4);
static_assert(offsetof(ListHead, index_chunk0_entries) == 8);
static_assert(offsetof(ListHead, data_chunk0_bytes) == 16);
static_assert(offsetof(ListHead, index0_offset) == 24);
static_assert(offsetof(ListHead, data0_offset) == 32);
static_assert(offsetof(ListHead, append_lock) == 64);
static_assert(offsetof(ListHead, data_used) == 80);
static_assert(offsetof(ListHead, bytes_in_use) == 88);
static_assert(offsetof(ListHead, data_chunks) == 96);
static_assert(offsetof(ListHead, index_chunks) == 100);
static_assert(offsetof(ListHead, size) == 128);
static_assert(offsetof(ListHead, append_seq) == 136);
static_assert(offsetof(ListHead, reserved2) == 140);
static_assert(offsetof(ListHead, closed) == 144);
static_assert(offsetof(ListHead, light_appenders) == 148);
static_assert(offsetof(ListHead, waiters) == 152);
static_assert(sizeof(ListHead) == 192);

}  // namespace shmkit::detail
