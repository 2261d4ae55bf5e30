#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"
#include "shmkit/sync/sync_waiters.hpp"

// EventState: a process-shared flag that processes wait for (Python's
// multiprocessing.Event). A plain layout struct (embed it, or use the named
// shmkit::Event). set() wakes every waiter; wait() returns at once while set.
// A waiter that was waiting when set() was called returns true even if clear()
// follows at once (as in Python): the flag word counts the sets, so a waiter
// tells "set since I started" from "set now".
// No owner: a process killed at any point leaves the flag as it was, and
// waiters with a timeout never block forever; a waiter killed while waiting
// costs the next set() one wake-up call, which drops it. Thread-safe and
// process-safe.

namespace shmkit::sync {

// Bits of `flag`: set or not, the sets counted (bits 1-30, wrapping), and the
// drops' parity (bit 31; see `waiters`).
inline constexpr std::uint32_t kEventSet = 1;
inline constexpr std::uint32_t kEventSetCount = 0x7ffffffeu;
inline constexpr std::uint32_t kEventDropped = 0x80000000u;

// Shared layout, 8 bytes.
struct EventState {
  // Futex word: kEventSet while set, and the number of clear->set transitions
  // (kEventSetCount). Written by set() and clear(), and its kEventDropped bit
  // flipped by a set() that drops the waiters (below).
  std::atomic<std::uint32_t> flag;
  // Waiters about to sleep or asleep: their count in the low 16 bits, a
  // generation above (SyncWaiters: waiters join, check and leave it). A set()
  // whose wake-up woke nobody drops it, flips kEventDropped and wakes every
  // waiter, so that a waiter killed while waiting does not cost every later
  // set() a wake-up call. The flip moves the futex word without looking like
  // a set: a live waiter dropped on its way to sleep returns from its wait at
  // once, sees the new generation and joins again.
  std::atomic<std::uint32_t> waiters;

  void set() noexcept;
  // Clears the bit and keeps the set count: a waiter that began before the
  // last set() still sees that it happened. release: as set() (orders the
  // clearer's earlier writes before the clear).
  void clear() noexcept { flag.fetch_and(~kEventSet, std::memory_order_release); }
  [[nodiscard]] bool is_set() const noexcept {
    return (flag.load(std::memory_order_acquire) & kEventSet) != 0;
  }
  // Waits until set or `deadline` (nullopt: forever); true if set, or if it
  // was set (and perhaps cleared again) since the call began.
  bool wait_until(platform::Deadline deadline) noexcept;
  // Waiters counted now (a snapshot, for tools and tests).
  [[nodiscard]] std::uint32_t waiting() const noexcept {
    return SyncWaiters::count(waiters.load(std::memory_order_relaxed));
  }
};
static_assert(std::is_standard_layout_v<EventState>);
static_assert(sizeof(EventState) == 8);
static_assert(offsetof(EventState, waiters) == 4);

}  // namespace shmkit::sync
