#include "shmkit/sync/event_state.hpp"

namespace shmkit::sync {

void EventState::set() noexcept {
  // seq_cst RMW: release for what the setter wrote, and ordered before the
  // waiters load (Dekker with wait_until()): either we see the waiter, or it
  // sees the flag.
  if (flag.exchange(1, std::memory_order_seq_cst) != 0) return;  // already set
  if (waiters.load(std::memory_order_seq_cst) != 0) platform::futex_wake_all(flag);
}

bool EventState::wait_until(platform::Deadline deadline) noexcept {
  if (is_set()) return true;
  waiters.fetch_add(1, std::memory_order_seq_cst);
  bool set_seen = false;
  for (;;) {
    // acquire pairs with set(): the setter's writes are visible to us.
    if (flag.load(std::memory_order_seq_cst) != 0) {
      set_seen = true;
      break;
    }
    if (platform::futex_wait(flag, 0, deadline) == platform::FutexWait::timed_out) {
      set_seen = is_set();
      break;
    }
  }
  waiters.fetch_sub(1, std::memory_order_relaxed);
  return set_seen;
}

}  // namespace shmkit::sync
