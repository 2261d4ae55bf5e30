#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"
#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/sync/lock_result.hpp"
#include "shmkit/sync/sync_waiters.hpp"

// MutexState: a process-shared mutex that survives a holder killed at any
// instruction. A plain layout struct: embed it in any segment, or use the named
// shmkit::Mutex (sync/mutex.hpp).
//
// The lock word is the holder's identity (thread id + start time, packed), set
// by one CAS, so a holder killed at any instruction either holds it with its
// identity recorded or does not hold it. A waiter sleeps on a separate futex
// word and, every kDeadOwnerCheck, checks whether the holder still lives; if it
// died, the waiter takes the lock over and is told LockResult::owner_died.
// Uncontended lock and unlock are one atomic RMW each, no syscall; unlock makes
// a FUTEX_WAKE only when a waiter is recorded and no woken waiter is still on
// its way.
//
// Contract: lock and unlock on the same thread; no recursion (relocking from
// the holding thread is a bug, caught by SHMKIT_ASSERT in debug builds).
// Thread-safe and process-safe: that is its job.

namespace shmkit::sync {

// How often a sleeping waiter checks whether the holder died (bounds how long
// survivors wait after a holder is killed).
inline constexpr auto kDeadOwnerCheck = std::chrono::milliseconds(20);

// How often a thread drops a primitive's waiters after a wake-up that woke
// nobody: under contention most such wake-ups find a live waiter about to
// sleep, and a drop costs it a wake-up. True at most once per
// kDeadOwnerCheck for each `next` (a thread_local of the caller's).
inline bool drop_turn(std::chrono::steady_clock::time_point& next) noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (now < next) return false;
  next = now + kDeadOwnerCheck;
  return true;
}

// Shared layout, 16 bytes. Zero-initialised memory is an unlocked mutex.
struct MutexState {
  // Packed identity of the holding thread; 0 when free; kUnrepaired when a
  // holder released it unrepaired (unlock_unrepaired()). Written by lockers
  // (CAS 0 -> self, or dead holder or kUnrepaired -> self) and by the holder
  // (unlock).
  std::atomic<std::uint64_t> owner;
  // Futex word the waiters sleep on: a sequence (low 31 bits) bumped by an
  // unlock that wakes a waiter, and a wake-pending bit (bit 31) set by that
  // unlock and cleared by the woken waiter (see mutex_state.cpp).
  std::atomic<std::uint32_t> wake_seq;
  // Lockers in the slow path (spinning done, about to sleep or asleep): their
  // count in the low 16 bits, a generation above (SyncWaiters: lockers join,
  // check and leave it). An unlock whose wake-up woke nobody (at most once
  // per kDeadOwnerCheck per thread) drops it and clears the wake-pending bit,
  // so that a locker killed while waiting is not counted for good (every
  // contended hand-off would then wait out a check interval, and every unlock
  // make a wake call).
  std::atomic<std::uint32_t> waiters;

  // Blocks until the lock is ours: acquired or owner_died. The first lock
  // of a thread reads its identity from /proc, and throws shmkit::Error if
  // it cannot (out of file descriptors, say); nothing else throws.
  LockResult lock() { return lock_until(std::nullopt); }

  // acquired or owner_died, or busy without waiting. Throws as lock().
  LockResult try_lock();

  // acquired, owner_died, or timed_out once `deadline` (steady clock) passes.
  // Throws as lock().
  LockResult lock_until(platform::Deadline deadline) {
    const std::uint64_t me = platform::this_thread_word();
    std::uint64_t expected = 0;
    // acquire pairs with the release in unlock(): the previous holder's writes
    // to the protected data are visible to us.
    if (owner.compare_exchange_strong(expected, me, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return LockResult::acquired;
    }
    return lock_slow(me, deadline);
  }

  // Releases the lock. The caller must hold it.
  void unlock() noexcept;
  // Releases the lock as if its holder had died holding it: the next locker
  // takes it over at once and is told owner_died. For a holder that was told
  // owner_died and left the protected data unrepaired (it threw, say), so
  // that the next holder is told too. The caller must hold it.
  void unlock_unrepaired() noexcept;

  // The owner word unlock_unrepaired() leaves: pid 0 (no process), so every
  // liveness check finds it dead.
  static constexpr std::uint64_t kUnrepaired = ProcessIdentity{0, 1}.pack();

  // True if some thread holds it now (a snapshot, for tools and tests).
  [[nodiscard]] bool locked() const noexcept { return owner.load(std::memory_order_relaxed) != 0; }
  // Lockers counted as waiting now (a snapshot, for tools and tests).
  [[nodiscard]] std::uint32_t waiting() const noexcept {
    return SyncWaiters::count(waiters.load(std::memory_order_relaxed));
  }

 private:
  LockResult lock_slow(std::uint64_t me, platform::Deadline deadline) noexcept;
  LockResult take_over_if_dead(std::uint64_t holder, std::uint64_t me) noexcept;
  void wake_one() noexcept;
  void clear_wake_pending() noexcept;
  // wake_one()'s steps when its wake-up woke nobody.
  void woke_nobody() noexcept;
  void drop_waiters() noexcept;
};

static_assert(std::is_standard_layout_v<MutexState>);
static_assert(std::is_trivially_destructible_v<MutexState>);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(sizeof(MutexState) == 16);
static_assert(offsetof(MutexState, owner) == 0);
static_assert(offsetof(MutexState, wake_seq) == 8);
static_assert(offsetof(MutexState, waiters) == 12);

}  // namespace shmkit::sync
