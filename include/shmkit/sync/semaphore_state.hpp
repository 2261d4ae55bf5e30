#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"
#include "shmkit/sync/mutex_state.hpp"

// SemaphoreState: a process-shared counting semaphore. A plain layout struct
// (embed it, or use the named shmkit::Semaphore).
//
// A semaphore has no owner, so a process killed between acquire and release
// cannot be detected: its unit is lost, and the count stays one lower. Waiters
// never block forever if they use a timeout; nothing else is recoverable. A
// waiter killed asleep is dropped from the waiters by the first release that
// wakes nobody (within about kDeadOwnerCheck of releases).
// Thread-safe and process-safe.

namespace shmkit::sync {

inline constexpr std::uint32_t kSemaphoreMax = 0x7fffffff;

// Shared layout, 16 bytes.
struct SemaphoreState {
  std::atomic<std::uint32_t> count;  // units; CAS by acquirers and releasers
  // Acquirers about to sleep or asleep: a count under a generation
  // (SyncWaiters, sync/mutex_state.hpp). Joined, checked and left by each
  // acquirer that sleeps; dropped by a release whose wake-up woke nobody, so
  // that one killed asleep does not make every release a wake call.
  std::atomic<std::uint32_t> waiters;
  // Futex word the acquirers sleep on: bumped by a release that finds
  // waiters (and by a drop), after its count CAS.
  std::atomic<std::uint32_t> wake_seq;
  std::uint32_t reserved;  // zero

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
  // Acquirers counted as waiting now (a snapshot, for tools and tests).
  [[nodiscard]] std::uint32_t waiting() const noexcept {
    return SyncWaiters::count(waiters.load(std::memory_order_relaxed));
  }
};
static_assert(std::is_standard_layout_v<SemaphoreState>);
static_assert(sizeof(SemaphoreState) == 16);
static_assert(offsetof(SemaphoreState, waiters) == 4);
static_assert(offsetof(SemaphoreState, wake_seq) == 8);

}  // namespace shmkit::sync
