#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "shmkit/type_fingerprint.hpp"

// The common header at offset 0 of every shmkit object (shared layout version
// kLayoutVersion, below).
// Prose and a diagram: docs/design/layout.md. Not API: no stability promise
// beyond what the layout version says.
//
// Bump kLayoutVersion when a field changes width, position or meaning.
//
// Init protocol (writers: the creator only, once):
//   1. the creator makes the file with O_EXCL, reserves its header area
//      (posix_fallocate of data_offset bytes: all zero), maps it, stores the
//      magic and its identity in attached[0] (relaxed), then state =
//      initialising (release: both are visible with it);
//   2. it reserves the whole file and maps it (a creator killed while that
//      takes its time is named in the header), then writes every plain
//      field, the checksum and the kind's own state;
//   3. it stores state = ready (release) and wakes state's futex waiters.
// An opener loads state (acquire) before reading anything else, sleeping on the
// state word (futex, bounded) while it is initialising. Once ready, the fields
// before `state` never change again: openers copy and validate them once.

namespace shmkit::detail {

// Our own constant: std::hardware_destructive_interference_size may change
// with -mtune (g++ 12 warns), and every process must agree.
inline constexpr std::size_t kCacheLine = 64;

inline constexpr std::uint32_t kMagic = 0x4B4D4853;  // "SHMK" in a little-endian dump
inline constexpr std::uint16_t kLayoutVersion = 9;
inline constexpr std::uint32_t kAttachSlots = 64;
inline constexpr std::uint64_t kDataAlignment = 4096;                  // data area: page-aligned
inline constexpr std::uint64_t kMaxDataSize = std::uint64_t{1} << 46;  // 64 TiB

// `value` rounded up to a multiple of `to` (> 0): sizes and offsets of layouts.
constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t to) noexcept {
  return (value + to - 1) / to * to;
}

enum class SegmentState : std::uint32_t {
  uninitialised = 0,  // fresh zero-filled file: the creator has not started
  initialising = 1,   // the creator is writing the layout
  ready = 2,          // the layout is complete and never changes again
};

// The part of the header written by the creator during init and immutable once
// state == ready. Openers copy it once and validate the copy, so that a
// process writing to it later cannot change what they checked.
struct FixedHeader {
  std::uint32_t magic;            // kMagic
  std::uint16_t layout_version;   // kLayoutVersion of the creator
  std::uint16_t header_size;      // sizeof(SegmentHeader) seen by the creator
  std::uint32_t kind;             // shmkit::Kind
  std::uint32_t attach_capacity;  // kAttachSlots
  std::uint64_t total_size;       // bytes of the file, header included
  std::uint64_t data_offset;      // kDataAlignment-aligned start of the kind's area
  std::uint64_t data_size;        // total_size - data_offset
  std::uint64_t creator;          // packed ProcessIdentity of the creator
  std::uint64_t created_ns;       // CLOCK_REALTIME at creation, ns since the epoch
  TypeFingerprint type;           // what the object stores
  std::uint32_t reserved0;        // zero; unused
  std::uint32_t checksum;         // fnv1a32 of the bytes before it
};
static_assert(std::is_standard_layout_v<FixedHeader>);
static_assert(std::is_trivially_copyable_v<FixedHeader>);
static_assert(offsetof(FixedHeader, magic) == 0);
static_assert(offsetof(FixedHeader, layout_version) == 4);
static_assert(offsetof(FixedHeader, header_size) == 6);
static_assert(offsetof(FixedHeader, kind) == 8);
static_assert(offsetof(FixedHeader, attach_capacity) == 12);
static_assert(offsetof(FixedHeader, total_size) == 16);
static_assert(offsetof(FixedHeader, data_offset) == 24);
static_assert(offsetof(FixedHeader, data_size) == 32);
static_assert(offsetof(FixedHeader, creator) == 40);
static_assert(offsetof(FixedHeader, created_ns) == 48);
static_assert(offsetof(FixedHeader, type) == 56);
static_assert(offsetof(FixedHeader, reserved0) == 112);
static_assert(offsetof(FixedHeader, checksum) == 116);
static_assert(sizeof(FixedHeader) == 120);

// Bytes the checksum covers.
inline constexpr std::size_t kChecksummedBytes = offsetof(FixedHeader, checksum);

struct SegmentHeader {
  FixedHeader fixed;                 // creator only, during init
  std::atomic<std::uint32_t> state;  // SegmentState; creator only; futex word
  std::uint32_t reserved1;           // zero; unused
  // Attached processes: packed ProcessIdentity, 0 when free. Any process
  // CASes a free (0) or dead entry to itself when it opens, and its own entry
  // back to 0 when it closes. An entry whose process is dead is a process
  // killed while attached: anyone may reclaim it.
  std::array<std::atomic<std::uint64_t>, kAttachSlots> attached;
};

static_assert(std::is_standard_layout_v<SegmentHeader>);
static_assert(std::is_trivially_destructible_v<SegmentHeader>);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<std::uint64_t>) == 8);
static_assert(offsetof(SegmentHeader, fixed) == 0);
static_assert(offsetof(SegmentHeader, state) == 120);
static_assert(offsetof(SegmentHeader, reserved1) == 124);
static_assert(offsetof(SegmentHeader, attached) == 128);
static_assert(sizeof(SegmentHeader) == 640);
static_assert(sizeof(SegmentHeader) <= kDataAlignment);

}  // namespace shmkit::detail
