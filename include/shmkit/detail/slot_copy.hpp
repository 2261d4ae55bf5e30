#pragma once

#include <cstddef>
#include <cstring>
#include <span>

// The copy of a message into its slot, shared by queues and pipes (the
// copying sends: try_push, try_push_batch, Pipe::try_send and their waiting
// forms; a reservation's bytes are the caller's own).
//
// A large message goes past the producer's caches. Its bytes are read next
// by another core, never again by this one, and a message as large as half
// this core's L2 cache evicts what the producer holds there while each of
// its stores first fetches a line the consumer last read. Non-temporal
// stores fetch nothing and leave the caches alone. Measured between the two
// vCPUs of an AMD EPYC guest (1 MiB of L2 each), a bare ring copying in and
// out, GB/s, normal stores against non-temporal ones: 64 KiB 25-28 against
// 27-28, 256 KiB 29 against 28, 512 KiB 24 against 28-29, 1 MiB 8-9
// against 22-24, 4 MiB 12 against 21-23. So they are used from half the
// L2 cache up (large_copy_threshold()), and never below kLargeCopyMin.

namespace shmkit::detail {

// Messages from this size up are copied out of line, by
// copy_large_into_slot(): a constant, so that a small message pays one
// compare against it.
inline constexpr std::size_t kLargeCopyMin = std::size_t{256} << 10;

// The size from which copy_large_into_slot() streams past the caches: half
// this machine's L2 cache (sysconf), at least kLargeCopyMin; 512 KiB where
// the L2 size is unknown.
std::size_t large_copy_threshold() noexcept;

// Copies `message` (at least kLargeCopyMin bytes) to `payload`, a slot's
// payload (16-byte aligned): with non-temporal stores from
// large_copy_threshold() up, fenced (sfence) before returning, so that the
// release store that publishes the slot comes after them; by memcpy below
// it, or where the target has no such stores.
void copy_large_into_slot(std::byte* payload, std::span<const std::byte> message) noexcept;

inline void copy_into_slot(std::byte* payload, std::span<const std::byte> message) noexcept {
  if (message.size() >= kLargeCopyMin) [[unlikely]] {
    copy_large_into_slot(payload, message);
  } else if (!message.empty()) {
    std::memcpy(payload, message.data(), message.size());
  }
}

}  // namespace shmkit::detail
