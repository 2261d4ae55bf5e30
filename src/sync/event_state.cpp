#include "shmkit/sync/event_state.hpp"

namespace shmkit::sync {
namespace {

// The word after one more set: the set bit, and the set count advanced.
constexpr std::uint32_t after_set(std::uint32_t word) noexcept {
  return ((word | kEventSet) + 2u) | kEventSet;
}

// True if `now` shows a set since the word was `start` (which was clear).
constexpr bool set_since(std::uint32_t start, std::uint32_t now) noexcept {
  return (now & kEventSet) != 0 || (now >> 1) != (start >> 1);
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
  if (waiters.load(std::memory_order_seq_cst) != 0) platform::futex_wake_all(flag);
}

bool EventState::wait_until(platform::Deadline deadline) noexcept {
  // acquire pairs with set(): the setter's writes are visible to us.
  const std::uint32_t start = flag.load(std::memory_order_acquire);
  if ((start & kEventSet) != 0) return true;
  waiters.fetch_add(1, std::memory_order_seq_cst);
  bool set_seen = false;
  for (;;) {
    // seq_cst: after our waiters increment (see set()); acquire for the data.
    const std::uint32_t now = flag.load(std::memory_order_seq_cst);
    if (set_since(start, now)) {
      set_seen = true;
      break;
    }
    // Sleeps only while the word is still `now`: any set() changes it.
    if (platform::futex_wait(flag, now, deadline) == platform::FutexWait::timed_out) {
      set_seen = set_since(start, flag.load(std::memory_order_acquire));
      break;
    }
  }
  waiters.fetch_sub(1, std::memory_order_relaxed);
  return set_seen;
}

}  // namespace shmkit::sync
