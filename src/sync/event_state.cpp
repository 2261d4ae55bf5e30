#include "shmkit/sync/event_state.hpp"

namespace shmkit::sync {
namespace {

// The word after one more set: the set bit, and the set count advanced (its
// wrap carries into kEventDropped, which only needs to move).
constexpr std::uint32_t after_set(std::uint32_t word) noexcept {
  return ((word | kEventSet) + 2u) | kEventSet;
}

// True if `now` shows a set since the word was `start` (which was clear).
constexpr bool set_since(std::uint32_t start, std::uint32_t now) noexcept {
  return (now & kEventSet) != 0 || (now & kEventSetCount) != (start & kEventSetCount);
}

}  // namespace

void EventState::set() noexcept {
  std::uint32_t word = flag.load(std::memory_order_relaxed);
  // Cases: (a) already set: nothing to do (waiters returned or will see the
  // bit); (b) the CAS wins: set, and the count says a set happened; (c) it
  // fails: a clear or another set moved the word; `word` is reloaded, retry.
  do {
    if ((word & kEventSet) != 0) return;
    // seq_cst RMW: release for what the setter wrote, and ordered before the
    // waiters load (Dekker with wait_until()): either we see the waiter, or
    // it sees the new word.
  } while (!flag.compare_exchange_weak(word, after_set(word), std::memory_order_seq_cst,
                                       std::memory_order_relaxed));
  if (SyncWaiters::count(waiters.load(std::memory_order_seq_cst)) != 0 &&
      platform::futex_wake_all(flag) == 0) {
    // Nobody woke: the waiters counted are about to sleep, or dead. Drop
    // them, flip kEventDropped (adding it flips it, the carry leaves the
    // word) and wake everyone (WaiterGenerations). The flip is needed: a
    // waiter may have joined after our set, seen a clear() that followed it,
    // and be about to sleep for the next set; our set's own move of the word
    // came before its look. No rate limit: a set wakes every waiter anyway,
    // so the drop costs the live ones nothing more than a look.
    SyncWaiters::drop_and_wake(waiters, flag, kEventDropped);
  }
}

bool EventState::wait_until(platform::Deadline deadline) noexcept {
  // acquire pairs with set(): the setter's writes are visible to us.
  const std::uint32_t start = flag.load(std::memory_order_acquire);
  if ((start & kEventSet) != 0) return true;
  // seq_cst (in join()): ordered before our look at the flag (Dekker with
  // set()).
  std::uint32_t joined = SyncWaiters::join(waiters);
  bool set_seen = false;
  for (;;) {
    // seq_cst: after our waiters increment (see set()); acquire for the data.
    const std::uint32_t now = flag.load(std::memory_order_seq_cst);
    if (set_since(start, now)) {
      set_seen = true;
      break;
    }
    // Dropped since we joined (a set() that woke nobody): not counted, so a
    // later set() would not wake us. Join again and look again.
    if (SyncWaiters::dropped(waiters, joined)) {
      joined = SyncWaiters::join(waiters);
      continue;
    }
    // Sleeps only while the word is still `now`: any set() changes it.
    if (platform::futex_wait(flag, now, deadline) == platform::FutexWait::timed_out) {
      set_seen = set_since(start, flag.load(std::memory_order_acquire));
      break;
    }
  }
  SyncWaiters::leave(waiters, joined);
  return set_seen;
}

}  // namespace shmkit::sync
