#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"

// EventState: a process-shared flag that processes wait for (Python's
// multiprocessing.Event). A plain layout struct (embed it, or use the named
// shmkit::Event). set() wakes every waiter; wait() returns at once while set.
// A waiter that was waiting when set() was called returns true even if clear()
// follows at once (as in Python): the flag word counts the sets, so a waiter
// tells "set since I started" from "set now".
// No owner: a process killed at any point leaves the flag as it was, and
// waiters with a timeout never block forever. Thread-safe and process-safe.

namespace shmkit::sync {

inline constexpr std::uint32_t kEventSet = 1;  // bit of `flag`; the bits above count sets

// Shared layout, 8 bytes.
struct EventState {
  // Futex word: kEventSet while set, and the number of clear->set transitions
  // (wrapping) in the bits above it. Written by set() and clear().
  std::atomic<std::uint32_t> flag;
  std::atomic<std::uint32_t> waiters;  // waiters about to sleep or asleep

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
};
static_assert(std::is_standard_layout_v<EventState>);
static_assert(sizeof(EventState) == 8);
static_assert(offsetof(EventState, waiters) == 4);

}  // namespace shmkit::sync
