#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"
#include "shmkit/sync/mutex_state.hpp"

// ConditionState: a process-shared condition variable used with a MutexState
// (Python's multiprocessing.Condition). A plain layout struct; the named
// shmkit::Condition holds both.
//
// No lost wake-up: a waiter reads the sequence word while it still holds the
// mutex, so a notify after that changes the word and FUTEX_WAIT returns.
// Spurious wake-ups happen: wait in a loop on your predicate.
// Death: a waiter killed while waiting costs one notify a wake-up call that
// wakes nobody (that notify drops it from the count: at most once per
// kDeadOwnerCheck per thread, as the live waiters about to sleep then wake
// spuriously); a notifier killed before notifying leaves waiters asleep
// until their timeout. If the mutex's holder
// died, the relock after a wait reports owner_died like lock() does.
// Thread-safe and process-safe.

namespace shmkit::sync {

enum class WaitResult {
  notified,    // woken (or spuriously): re-check the predicate; mutex held
  timed_out,   // the deadline passed; mutex held
  owner_died,  // woken; mutex held, taken over from a dead holder: repair first
};

// Shared layout, 8 bytes.
struct ConditionState {
  std::atomic<std::uint32_t> seq;  // futex word; bumped by every notify
  // Waiters between reading seq and waking: a count under a generation
  // (SyncWaiters). Joined, checked and left by each waiter; dropped by a
  // notify whose wake-up woke nobody.
  std::atomic<std::uint32_t> waiters;

  // Atomically releases `mutex` (held by the caller) and waits for a notify or
  // `deadline`; relocks `mutex` before returning, whatever the outcome.
  WaitResult wait_until(MutexState& mutex, platform::Deadline deadline) noexcept;
  void notify_one() noexcept { notify(1); }
  void notify_all() noexcept { notify(0x7fffffff); }
  // Waiters counted now (a snapshot, for tools and tests).
  [[nodiscard]] std::uint32_t waiting() const noexcept {
    return SyncWaiters::count(waiters.load(std::memory_order_relaxed));
  }

 private:
  void notify(int count) noexcept;
};
static_assert(std::is_standard_layout_v<ConditionState>);
static_assert(sizeof(ConditionState) == 8);
static_assert(offsetof(ConditionState, waiters) == 4);

}  // namespace shmkit::sync
