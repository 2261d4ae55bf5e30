#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"

// EventState: a process-shared flag that processes wait for (Python's
// multiprocessing.Event). A plain layout struct (embed it, or use the named
// shmkit::Event). set() wakes every waiter; wait() returns at once while set.
// No owner: a process killed at any point leaves the flag as it was, and
// waiters with a timeout never block forever. Thread-safe and process-safe.

namespace shmkit::sync {

// Shared layout, 8 bytes.
struct EventState {
  std::atomic<std::uint32_t> flag;     // futex word: 0 clear, 1 set; written by set()/clear()
  std::atomic<std::uint32_t> waiters;  // waiters about to sleep or asleep

  void set() noexcept;
  void clear() noexcept { flag.store(0, std::memory_order_release); }
  [[nodiscard]] bool is_set() const noexcept { return flag.load(std::memory_order_acquire) != 0; }
  // Waits until set or `deadline` (nullopt: forever); true if set.
  bool wait_until(platform::Deadline deadline) noexcept;
};
static_assert(std::is_standard_layout_v<EventState>);
static_assert(sizeof(EventState) == 8);
static_assert(offsetof(EventState, waiters) == 4);

}  // namespace shmkit::sync
