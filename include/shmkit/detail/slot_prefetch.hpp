#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "shmkit/detail/queue_layout.hpp"

// The producer's prefetch of a slot it will write soon, shared by queues and
// pipes.
//
// A producer writes slot pos again slot_count positions after it last did;
// meanwhile the consumer read it (a pipe's) or wrote its release (a
// queue's), so the producer's copy of the slot's lines is gone or shared.
// Its next store there waits for the lines to come back exclusive, one
// cross-core round trip, once per message: the queue's commit CAS waits
// for it, and in a pipe the stores back up behind it. So a producer that
// has just taken position pos asks for slot pos + kSlotPrefetchAhead with
// intent to write; by the time it gets there the lines are home.
// queue.throughput, interleaved rounds on a 2-vCPU VM: ByteQueue one at a
// time 4.9-13.3 -> 16 M msgs/s, Pipe one way 21 -> 25 M msgs/s; the ping-pong
// latencies did not move. A consumer-side prefetch of slots to read did not
// help, nor did one in a batch's claim (batches' stores do not wait one by
// one): neither is done.

namespace shmkit::detail {

// Positions ahead of the one being written (the pipe measured 4, 8 and 16
// alike).
inline constexpr std::uint64_t kSlotPrefetchAhead = 8;

// The lines of `slot`'s first byte and of its 65th: a 64-byte message's
// whole slot (16-byte header, payload), a queue's two lines or a pipe's 80
// bytes from a 16-byte boundary (pipe_layout.hpp), which end on the second.
// __builtin_prefetch(p, 1) is prefetchw where the target has it, a plain
// prefetch otherwise: prefetcht0 for the default x86-64 target, and better
// there. An explicit prefetchw (which takes the lines exclusive) was slower
// on the AMD EPYC guest, three interleaved rounds of one-way streams: a Pipe
// 15.3-15.9 against 21.7-22.6 M msgs/s, a ByteQueue 12.7-12.9 against
// 14.2-14.6; and on the Intel guest (docs/BENCHMARKS.md).
inline void prefetch_slot_for_write(const QueueSlot& slot) noexcept {
  const auto* line = reinterpret_cast<const std::byte*>(&slot);  // NOLINT: raw cache lines
  __builtin_prefetch(line, 1);
  __builtin_prefetch(line + kCacheLine, 1);
}

// Whether this CPU has prefetchw (CPUID 0x80000001, ECX bit 8), asked when
// the program loads. A call from another static initializer that runs
// first sees false: the plain prefetch, which is harmless.
inline const bool kCpuHasPrefetchw = [] {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001U, &a, &b, &c, &d) != 0 && (c & (1U << 8)) != 0;
#else
  return false;
#endif
}();

// The same lines as prefetch_slot_for_write(), taken exclusive (prefetchw)
// where the CPU can: only for a slot known to be free, one the consumer is
// done with (a pipe's below the receiver's position as last read). Taking
// its lines then costs the consumer nothing, and the producer's stores find
// them home instead of waiting one by one. Asked ahead of a slot the
// consumer may still be reading, prefetchw was slower (above): it takes the
// lines from under the reader.
// queue.throughput on the Intel guest (docs/BENCHMARKS.md): a Pipe's
// batches of 32, 38 -> 42-60 M msgs/s; its one-at-a-time stream, the slot
// ahead taken exclusive when known free (Pipe::prefetch_ahead()), 31-37 ->
// 48-61 M; the ping-pong level, a busy consumer about 3% slower.
// ByteQueue does not use it: its producer does not know which slots are
// free without reading them, and in its batches (whose slots are claimed
// free) it was slower, 43-47 -> 25-31 M.
inline void prefetch_free_slot(const QueueSlot& slot) noexcept {
#if defined(__x86_64__)
  if (kCpuHasPrefetchw) {
    const auto* line = reinterpret_cast<const std::byte*>(&slot);  // NOLINT: raw cache lines
    asm volatile("prefetchw %0" ::"m"(*line));                     // NOLINT(hicpp-no-assembler)
    asm volatile("prefetchw %0" ::"m"(*(line + kCacheLine)));      // NOLINT(hicpp-no-assembler)
    return;
  }
#endif
  prefetch_slot_for_write(slot);
}

}  // namespace shmkit::detail
