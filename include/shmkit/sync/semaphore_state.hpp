#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"

// SemaphoreState: a process-shared counting semaphore. A plain layout struct
// (embed it, or use the named shmkit::Semaphore).
//
// A semaphore has no owner, so a process killed between acquire and release
// cannot be detected: its unit is lost, and the count stays one lower. Waiters
// never block forever if they use a timeout; nothing else is recoverable.
// Thread-safe and process-safe.

namespace shmkit::sync {

inline constexpr std::uint32_t kSemaphoreMax = 0x7fffffff;

// Shared layout, 8 bytes.
struct SemaphoreState {
  std::atomic<std::uint32_t> count;  // futex word; written by acquirers and releasers
  // Acquirers about to sleep or asleep. A bare count: one killed asleep stays
  // counted, and each later release makes a wake call that wakes nobody (the
  // generations of a mutex's waiters need a sequence to bump, and the futex
  // word here is the count itself).
  std::atomic<std::uint32_t> waiters;

  // Takes one unit, waiting until `deadline` (nullopt: forever); false on timeout.
  bool acquire_until(platform::Deadline deadline) noexcept;
  // Takes one unit if there is one, without waiting.
  bool try_acquire() noexcept;
  // Adds `n` units and wakes up to `n` waiters; false (and nothing added) if
  // the count would pass kSemaphoreMax.
  bool release(std::uint32_t n = 1) noexcept;
  [[nodiscard]] std::uint32_t value() const noexcept {
    return count.load(std::memory_order_relaxed);
  }
};
static_assert(std::is_standard_layout_v<SemaphoreState>);
static_assert(sizeof(SemaphoreState) == 8);
static_assert(offsetof(SemaphoreState, waiters) == 4);

}  // namespace shmkit::sync
