#pragma once

#include <chrono>
#include <thread>

#include "shmkit/platform/futex.hpp"

// A hint to the CPU that we are spinning (platform layer).

namespace shmkit::platform {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Iterations a waiter spins on a lock or word before it sleeps in the kernel:
// a few microseconds (a pause is 10-40 ns), about a futex round trip.
inline constexpr int kSpinIterations = 100;

// How long a channel's waiter (a queue's push or pop, a pipe's send or recv, a
// list's wait_for_size) spins before it sleeps, in pauses: some tens of
// microseconds. Longer than a lock's spin because a stream's peer is rarely
// far away: a consumer that sleeps each time it drains the queue makes its
// producer pay a FUTEX_WAKE (microseconds) per message, and then it drains
// the queue again sooner.
inline constexpr int kChannelSpinPauses = 2048;

// Spins until ready() is true (then true), or about `pauses` pauses have
// passed (then false). It looks after 1, 2, 4 ... 64 pauses, then every 64:
// each look may pull a cache line away from a busy peer, whose next write
// must fetch it back, so a waiter that looks less often lets that peer run
// ahead, and takes its work in a batch.
template <class Ready>
bool spin_until(Ready&& ready, int pauses) {
  constexpr int kMaxGap = 64;
  for (int spent = 0, gap = 1; spent < pauses; spent += gap) {
    if (ready()) return true;
    for (int i = 0; i < gap; ++i) cpu_relax();
    gap = gap < kMaxGap ? 2 * gap : kMaxGap;
  }
  return ready();
}

// A channel waiter's spin before it sleeps: spin_until(ready,
// kChannelSpinPauses), then one yield of the CPU and a last look; or none at
// all once `deadline` has passed (poll(0), a zero timeout: they want one
// look, not tens of microseconds).
//
// The yield is for more processes than CPUs. A waiter that shares its CPU
// with the peer it waits for spins while that peer cannot run; asleep, it
// makes the peer pay a FUTEX_WAKE per message, and once woken it preempts
// the peer and spins again. Yielding first lets a runnable peer on this CPU
// make us ready, and we go on without sleeping; with a CPU of our own the
// yield returns at once. queue.scaling on two CPUs (AMD guest, interleaved,
// --reps 5): 1x2 0.24-0.29 -> 2.7-6.5 M msgs/s, 2x1 0.28 -> 3.6-5.2 M,
// 1x1 and 2x2 level within the noise (docs/BENCHMARKS.md). Yielding in
// the last eighth of the spin instead (four yields) did better still for
// 1x2 and 2x1 (7.4-7.8 and 10.8 M) but cost 2x2 a third (7.0 -> 4.7-5.1
// M); at every look past the first hundred pauses, half.
template <class Ready>
bool channel_spin(Ready&& ready, const Deadline& deadline) {
  if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
  if (spin_until(ready, kChannelSpinPauses)) return true;
  std::this_thread::yield();
  return ready();
}

}  // namespace shmkit::platform
