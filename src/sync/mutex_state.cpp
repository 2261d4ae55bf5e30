#include "shmkit/sync/mutex_state.hpp"

#include <algorithm>

#include "shmkit/detail/assert.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/platform/spin.hpp"

namespace shmkit::sync {

using Clock = std::chrono::steady_clock;

namespace {
// Bit of wake_seq: an unlock woke a waiter that has not run yet. Further
// unlocks skip FUTEX_WAKE until that waiter clears it: it will retry the lock
// anyway, and a holder that relocks and unlocks in a loop would otherwise make
// a wake call per unlock that wakes nobody.
constexpr std::uint32_t kWakePending = 0x80000000u;

// When this thread may next drop a mutex's waiters (woke_nobody()).
thread_local Clock::time_point t_next_drop{};
}  // namespace

LockResult MutexState::try_lock() {
  const std::uint64_t me = platform::this_thread_word();
  std::uint64_t holder = 0;
  // acquire: as in lock_until().
  if (owner.compare_exchange_strong(holder, me, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
    return LockResult::acquired;
  }
  SHMKIT_ASSERT(holder != me, "try_lock() by the thread that holds the mutex");
  // A try is allowed a liveness check: it is not the hot path of a waiter.
  const LockResult taken = take_over_if_dead(holder, me);
  return taken == LockResult::owner_died ? taken : LockResult::busy;
}

void MutexState::unlock() noexcept {
  SHMKIT_ASSERT(owner.load(std::memory_order_relaxed) == platform::this_thread_word(),
                "unlock() by a thread that does not hold the mutex");
  // [U1] The exchange is release for the protected data (pairs with the
  // acquire CAS of the next holder) and seq_cst so that it is ordered before
  // [U2]: with [W1] in lock_slow() this is Dekker's pattern. Either we see the
  // waiter's increment, or the waiter's re-check of `owner` sees 0.
  owner.exchange(0, std::memory_order_seq_cst);
  // [U2]
  if (SyncWaiters::count(waiters.load(std::memory_order_seq_cst)) != 0) wake_one();
}

void MutexState::unlock_unrepaired() noexcept {
  SHMKIT_ASSERT(owner.load(std::memory_order_relaxed) == platform::this_thread_word(),
                "unlock_unrepaired() by a thread that does not hold the mutex");
  // As unlock() [U1], [U2]; a waiter woken finds kUnrepaired and takes it over.
  owner.exchange(kUnrepaired, std::memory_order_seq_cst);
  if (SyncWaiters::count(waiters.load(std::memory_order_seq_cst)) != 0) wake_one();
}

void MutexState::wake_one() noexcept {
  std::uint32_t seq = wake_seq.load(std::memory_order_relaxed);
  // Cases: (a) a wake is pending: its waiter has yet to retry the lock, and
  // will; no second wake is needed. (b) the CAS wins: the sequence moves on
  // (a waiter that read the old value but has not slept returns from
  // FUTEX_WAIT at once) and we wake one sleeper. (c) it fails: a waiter
  // cleared the mark or another unlocker won; look again.
  while ((seq & kWakePending) == 0) {
    const std::uint32_t next = ((seq + 1) & ~kWakePending) | kWakePending;
    if (wake_seq.compare_exchange_weak(seq, next, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      if (platform::futex_wake(wake_seq, 1) == 0) woke_nobody();
      return;
    }
  }
}

void MutexState::woke_nobody() noexcept {
  // The lockers counted are about to sleep (their wait then returns at once,
  // as the sequence moved), or were just woken, or died waiting. For a dead
  // one nobody clears the pending mark, and with it set no unlock wakes the
  // next sleeper: drop_waiters() clears it and the count. Under contention
  // most such wake-ups find a locker about to sleep, and a drop (or clearing
  // the mark alone: an unlock in a relock loop then makes a wake call every
  // time) would cost them: at most once per check interval per thread. A
  // drop refused here costs the next sleeper one check interval, after which
  // it clears the mark and its own unlock drops the dead.
  if (drop_turn(t_next_drop)) drop_waiters();
}

void MutexState::drop_waiters() noexcept {
  // The live lockers join the new generation again (platform/waiter_generations.hpp).
  SyncWaiters::drop(waiters);
  // The sequence moves on with the pending mark down (cases as in wake_one()).
  std::uint32_t seq = wake_seq.load(std::memory_order_relaxed);
  while (!wake_seq.compare_exchange_weak(seq, (seq + 1) & ~kWakePending, std::memory_order_seq_cst,
                                         std::memory_order_relaxed)) {
  }
  platform::futex_wake_all(wake_seq);
}

void MutexState::clear_wake_pending() noexcept {
  // Only a waiter that is about to retry the lock clears it, so an unlock
  // after this wakes someone again (or an unlock whose wake-up woke nobody:
  // drop_waiters()). A waiter killed before clearing it costs the others at
  // most one check interval: every waiter clears it when its sleep ends, for
  // whatever reason.
  if ((wake_seq.load(std::memory_order_relaxed) & kWakePending) != 0) {
    wake_seq.fetch_and(~kWakePending, std::memory_order_relaxed);
  }
}

LockResult MutexState::take_over_if_dead(std::uint64_t holder, std::uint64_t me) noexcept {
  if (holder == 0) return LockResult::busy;
  // kUnrepaired has pid 0, which is_alive() finds dead without reading /proc.
  if (is_alive(ProcessIdentity::unpack(holder))) return LockResult::busy;
  // Cases: (a) the CAS succeeds: the dead holder's lock is ours; (b) it fails:
  // another survivor took it over first, or the word changed: we do not hold it.
  // acquire: whatever the dead holder wrote is visible to us for the repair.
  if (owner.compare_exchange_strong(holder, me, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
    return LockResult::owner_died;
  }
  return LockResult::busy;
}

LockResult MutexState::lock_slow(std::uint64_t me, platform::Deadline deadline) noexcept {
  // Spin a little: a holder on another core usually releases within a futex
  // round trip.
  for (int i = 0; i < platform::kSpinIterations; ++i) {
    platform::cpu_relax();
    std::uint64_t expected = owner.load(std::memory_order_relaxed);
    if (expected == 0 && owner.compare_exchange_weak(expected, me, std::memory_order_acquire,
                                                     std::memory_order_relaxed)) {
      return LockResult::acquired;
    }
  }
  // [W1] seq_cst (in join()), ordered before the re-check of `owner` (see [U1]).
  std::uint32_t joined = SyncWaiters::join(waiters);
  LockResult result = LockResult::timed_out;
  bool check_holder = false;
  for (;;) {
    // Read the sequence before re-checking the owner: an unlock after this
    // point changes it, so FUTEX_WAIT below returns instead of sleeping.
    const std::uint32_t seq = wake_seq.load(std::memory_order_acquire);
    std::uint64_t holder = owner.load(std::memory_order_seq_cst);
    SHMKIT_ASSERT(holder != me, "lock() by the thread that holds the mutex (no recursion)");
    if (holder == 0) {
      if (owner.compare_exchange_strong(holder, me, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
        result = LockResult::acquired;
        break;
      }
      continue;  // another locker won; look again
    }
    // A holder that released it unrepaired is taken over at once, not after a
    // check interval.
    if (check_holder || holder == kUnrepaired) {
      check_holder = false;
      if (take_over_if_dead(holder, me) == LockResult::owner_died) {
        result = LockResult::owner_died;
        break;
      }
    }
    const Clock::time_point now = Clock::now();
    if (deadline && now >= *deadline) {
      // Last look before giving up: a dead holder should not cost a timeout.
      if (take_over_if_dead(holder, me) == LockResult::owner_died) result = LockResult::owner_died;
      break;
    }
    // [W2] An unlock started a new generation of waiters (drop_waiters()):
    // we are no longer counted, and no unlock would wake us. Join again and
    // look again before sleeping.
    if (SyncWaiters::dropped(waiters, joined)) {
      joined = SyncWaiters::join(waiters);
      continue;
    }
    const Clock::time_point check_at = now + kDeadOwnerCheck;
    const bool deadline_first = deadline && *deadline < check_at;
    const auto woke = platform::futex_wait(wake_seq, seq, deadline_first ? *deadline : check_at);
    clear_wake_pending();
    // Slept a full check interval without an unlock: is the holder still alive?
    if (woke == platform::FutexWait::timed_out && !deadline_first) check_holder = true;
  }
  SyncWaiters::leave(waiters, joined);
  if (result == LockResult::timed_out && owner.load(std::memory_order_seq_cst) == 0 &&
      SyncWaiters::count(waiters.load(std::memory_order_seq_cst)) != 0) {
    // We may have consumed the one wake-up an unlock made: pass it on.
    clear_wake_pending();
    wake_one();
  }
  return result;
}

}  // namespace shmkit::sync
