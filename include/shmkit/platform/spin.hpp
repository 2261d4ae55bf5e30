#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "shmkit/platform/futex.hpp"

// Spinning before a sleep (platform layer): the CPU's pause hint, and how
// long a lock's or a channel's waiter spins.

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

// The longest a channel's waiter (a queue's push or pop, a pipe's send or
// recv, a list's wait_for_size) spins before it sleeps, in pauses: some tens
// of microseconds. Longer than a lock's spin because a stream's peer is
// rarely far away: a consumer that sleeps each time it drains the queue
// makes its producer pay a FUTEX_WAKE (microseconds) per message, and then
// it drains the queue again sooner.
inline constexpr int kChannelSpinPauses = 2048;
// The shortest: about what a sleep and a wake-up cost the waiter (a few
// microseconds), so that a waiter whose peer is slow spends at most about as
// much on spinning as on sleeping.
inline constexpr int kChannelSpinMinPauses = 128;

// Whether a spin of the longest budget would have seen a wait end: the
// spin's last stretch, `mark_to_end` over `mark_to_end_pauses` pauses, gives
// the time of a pause; the wait ended `mark_to_ready` after the mark, which
// came `pauses_to_mark` pauses into the spin. Pure, for the tests.
constexpr bool longest_spin_would_catch(std::chrono::nanoseconds mark_to_end,
                                        std::int64_t mark_to_end_pauses,
                                        std::chrono::nanoseconds mark_to_ready,
                                        std::int64_t pauses_to_mark) noexcept {
  if (mark_to_end_pauses <= 0) return false;
  const std::int64_t rest = kChannelSpinPauses - pauses_to_mark;
  // The rest of the longest spin, rest * (mark_to_end / mark_to_end_pauses),
  // in doubles: no product of integers to overflow, however long the wait (a
  // list's reader waiting weeks for its next item) or the spin (a waiter
  // stopped in it).
  const double rest_of_longest = static_cast<double>(rest) *
                                 static_cast<double>(mark_to_end.count()) /
                                 static_cast<double>(mark_to_end_pauses);
  return static_cast<double>(mark_to_ready.count()) <= rest_of_longest;
}

// How many pauses one handle's waiter in one role spins before it sleeps,
// learned from its own waits. A wait that outlasted the spin and the yield
// after it (the waiter slept) and that ended while a spin of
// kChannelSpinPauses would still have run (a busy stream: the longer spin
// would have spared the peer its FUTEX_WAKE) doubles it, up to
// kChannelSpinPauses; one that ended later (a slow stream: each spin burnt
// the CPU for nothing) halves it, down to kChannelSpinMinPauses. A wait
// that the spin or the yield ended changes nothing. A handle starts at the
// longest spin. "Ended" is when the waiter ran again: a wake-up's own
// latency counts as waiting.
//
// A stream of one message each 300 us cost its blocking receiver 46 us of
// CPU a message with the fixed longest spin on the Intel guest, and 26 us
// learned, against 8 us for a bare futex waiter (pipe.wakeup's "receiver
// cpu"; most of the rest is the membarrier(2) of a sleeping waiter whose
// peer is light). See docs/BENCHMARKS.md, "A channel's spin, learned".
//
// Relaxed atomic: threads sharing a handle share its budget; the value is a
// hint, no data rests on it. Copied (a handle's move) by value.
class SpinBudget {
 public:
  SpinBudget() = default;
  SpinBudget(const SpinBudget& other) noexcept : pauses_(other.pauses()) {}
  SpinBudget& operator=(const SpinBudget& other) noexcept {
    pauses_.store(other.pauses(), std::memory_order_relaxed);
    return *this;
  }
  ~SpinBudget() = default;

  [[nodiscard]] int pauses() const noexcept { return pauses_.load(std::memory_order_relaxed); }

  // After a wait that the spin did not end: `caught` says whether the
  // longest spin would have.
  void learn(bool caught) noexcept {
    const int now = pauses();
    pauses_.store(
        caught ? std::min(kChannelSpinPauses, 2 * now) : std::max(kChannelSpinMinPauses, now / 2),
        std::memory_order_relaxed);
  }

 private:
  std::atomic<int> pauses_{kChannelSpinPauses};
};

// One wait's spin before it sleeps, for a waiter that holds it for the whole
// wait: run() spins up to the budget's pauses and tells whether `ready()`
// came true; the destructor, when the wait is over, teaches the budget how
// long the wait took after a spin and a yield that did not end it. No clock
// is read by a spin that ends within its first 63 pauses (the common wait
// of a busy stream): the time of a pause is taken from the spin's later
// stretch, from the look at 63 pauses to its end.
//
// run() looks after 1, 2, 4 ... 64 pauses, then every 64: each look may pull
// a cache line away from a busy peer, whose next write must fetch it back,
// so a waiter that looks less often lets that peer run ahead, and takes its
// work in a batch. Past its pauses it yields the CPU once and looks a last
// time; it does not spin at all once `deadline` has passed (poll(0), a zero
// timeout: they want one look, not tens of microseconds).
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
//
// `Clock` times the spin for the budget's lesson only (a test's fake clock);
// the deadline is always the steady clock's.
template <class Clock = std::chrono::steady_clock>
class BasicChannelSpin {
 public:
  explicit BasicChannelSpin(SpinBudget& budget) noexcept : budget_(budget) {}
  BasicChannelSpin(const BasicChannelSpin&) = delete;
  BasicChannelSpin& operator=(const BasicChannelSpin&) = delete;
  BasicChannelSpin(BasicChannelSpin&&) = delete;
  BasicChannelSpin& operator=(BasicChannelSpin&&) = delete;
  ~BasicChannelSpin() {
    if (mark_to_end_pauses_ == 0) return;  // no spin, or one that ended the wait
    budget_.learn(longest_spin_would_catch(end_ - mark_, mark_to_end_pauses_, Clock::now() - mark_,
                                           kMarkPauses));
  }

  template <class Ready>
  bool run(Ready&& ready, const Deadline& deadline) {
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
    const int budget = budget_.pauses();
    int spent = 0;
    for (int gap = 1; spent < budget;) {
      if (ready()) return true;
      if (spent == kMarkPauses) mark_ = Clock::now();
      for (int i = 0; i < gap; ++i) cpu_relax();
      spent += gap;
      gap = gap < kMaxGap ? 2 * gap : kMaxGap;
    }
    if (ready()) return true;
    // Past the mark: the budget is never under kChannelSpinMinPauses.
    end_ = Clock::now();
    std::this_thread::yield();
    if (ready()) return true;  // a process on our CPU made us ready: no lesson
    mark_to_end_pauses_ = spent - kMarkPauses;
    return false;
  }

 private:
  static constexpr int kMaxGap = 64;
  // The look after 1 + 2 + ... + 32 pauses, where the gaps reach kMaxGap.
  static constexpr int kMarkPauses = kMaxGap - 1;
  static_assert(kChannelSpinMinPauses > kMarkPauses);

  SpinBudget& budget_;
  typename Clock::time_point mark_{};
  typename Clock::time_point end_{};
  int mark_to_end_pauses_ = 0;
};

using ChannelSpin = BasicChannelSpin<>;

}  // namespace shmkit::platform
