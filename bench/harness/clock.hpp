#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

// Clocks for the benchmark harness.
//
// ticks(): the cheapest timestamp this CPU has, for per-iteration samples in a
// hot loop: the time-stamp counter on x86 (invariant on every CPU this project
// runs on; `constant_tsc nonstop_tsc` in /proc/cpuinfo), steady_clock
// nanoseconds elsewhere. calibrate_ticks() measures ticks per nanosecond once,
// in the main process before any fork, so every child inherits the same scale.
//
// now_ns(): steady_clock (CLOCK_MONOTONIC), the one clock that is comparable
// between processes and cores; use it for one-way timestamps that one process
// writes and another reads.

namespace shmkit::bench {

inline std::uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  // lfence: the counter is read after every earlier instruction has completed
  // (rdtsc alone may be executed early, before the load that ended a wait).
  _mm_lfence();
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The CPU time the calling thread has used (CLOCK_THREAD_CPUTIME_ID), in
// nanoseconds: what a busy machine's preemptions do not inflate.
std::int64_t thread_cpu_ns() noexcept;

// Measures the tick rate against steady_clock (about 30 ms). Call once, early.
void calibrate_ticks();

// Ticks per nanosecond (1.0 where ticks() is steady_clock).
double ticks_per_ns() noexcept;

// "tsc" or "steady_clock": what ticks() reads.
const char* ticks_source() noexcept;

}  // namespace shmkit::bench
