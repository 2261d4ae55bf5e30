#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

// The copies of a message into its slot and out of it, shared by queues and
// pipes (the copying sends: try_push, try_push_batch, Pipe::try_send and
// their waiting forms; the copying pops and receives. A reservation's bytes
// and a message read in place are the caller's own).
//
// Into the slot:
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

// A message of up to kWordCopyMax bytes goes in and out of its slot in
// 8-byte words (then 4, 2, 1), inline. The bytes were just written by one
// side's caller or are about to be loaded by it, and each side's stores
// drain slowly: every commit and release is a store to a line the other
// core keeps reading, and the stores after it wait a cross-core round trip
// before they reach the cache. A load of bytes still waiting there is
// served from the store buffer only if one store holds all of them and
// that store does not cross a cache line; otherwise it waits too.
// - Into the slot: the caller has just built the message, with stores of
//   whatever width its compiler chose. An 8-byte load is inside one of them
//   (unless the caller built it in narrower pieces); a library memcpy of a
//   size known only at run time loads vectors of 32 bytes or more, which
//   span several and wait. `queue.throughput` on an Intel guest, four rounds, interleaved,
//   M msgs/s, memcpy against words, built -O2: the Pipe one way 21.6-23.0
//   against 29.0-29.4, ByteQueue 23.4-24.3 against 24.5-26.1, its batches
//   of 32 18.1-19.4 against 39.7-45.4; built -O3: 17.9-18.3 against
//   19.4-20.0, 23.4-24.6 against 23.7-24.2, 38.7-45.0 against 45.0-47.5.
// - Out of the slot: into a buffer aligned to 8 bytes no store crosses a
//   line. A library memcpy stores 32-byte vectors wherever the buffer
//   starts. A throwaway one-way ByteQueue stream with a busy consumer
//   (`queue.busy_consumer`'s hash), copying into a buffer 0, 8 or 16 bytes
//   past a line: 5.8-9.3 M msgs/s by memcpy, 10.9-12.4 by words, at every
//   offset. The caller's loads wider than a word (a struct copied at -O2)
//   are still not forwarded, and no wider piece suits every caller
//   (docs/BENCHMARKS.md, "What the busy consumer waits for").
// Past kWordCopyMax, memcpy aligns its own accesses. Out of the slot it is
// called out of line (copy_large_from_slot()), where the compiler cannot see
// it write past a small caller's buffer on a path it takes only for a
// message larger than that buffer (which the pops refuse first).
inline constexpr std::size_t kWordCopyMax = 256;

inline void copy_words(std::byte* to, const std::byte* from, std::size_t size) noexcept {
  std::size_t i = 0;
#pragma GCC unroll 4
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, from + i, 8);
    // An empty asm on the word keeps it in a register: the compiler turns
    // the loop back into a memcpy call, or into vector accesses, otherwise.
    asm("" : "+r"(word));
    std::memcpy(to + i, &word, 8);
  }
  if ((size & 4) != 0) {
    std::memcpy(to + i, from + i, 4);
    i += 4;
  }
  if ((size & 2) != 0) {
    std::memcpy(to + i, from + i, 2);
    i += 2;
  }
  if ((size & 1) != 0) to[i] = from[i];
}

inline void copy_into_slot(std::byte* payload, std::span<const std::byte> message) noexcept {
  if (message.size() <= kWordCopyMax) {
    copy_words(payload, message.data(), message.size());
  } else if (message.size() >= kLargeCopyMin) [[unlikely]] {
    copy_large_into_slot(payload, message);
  } else {
    std::memcpy(payload, message.data(), message.size());
  }
}

void copy_large_from_slot(std::byte* to, const std::byte* payload, std::size_t size) noexcept;

inline void copy_from_slot(std::byte* to, const std::byte* payload, std::size_t size) noexcept {
  if (size > kWordCopyMax) {
    copy_large_from_slot(to, payload, size);
    return;
  }
  copy_words(to, payload, size);
}

// The same into a std::string or a std::vector of bytes, resized to the
// message first.
template <class Buffer>
void resize_and_copy_from_slot(Buffer& out, const std::byte* payload, std::size_t size) {
  out.resize(size);
  copy_from_slot(reinterpret_cast<std::byte*>(out.data()), payload, size);  // NOLINT: char or byte
}

}  // namespace shmkit::detail
