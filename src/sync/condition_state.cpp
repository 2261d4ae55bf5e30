#include "shmkit/sync/condition_state.hpp"

namespace shmkit::sync {

WaitResult ConditionState::wait_until(MutexState& mutex, platform::Deadline deadline) noexcept {
  // [C1] seq_cst: ordered before notify()'s load of waiters [N2] (Dekker).
  waiters.fetch_add(1, std::memory_order_seq_cst);
  // Read under the mutex: a notifier that changes the predicate after we
  // release it also bumps seq after this read.
  const std::uint32_t s = seq.load(std::memory_order_seq_cst);
  mutex.unlock();
  const auto woke = platform::futex_wait(seq, s, deadline);
  waiters.fetch_sub(1, std::memory_order_relaxed);
  const LockResult relock = mutex.lock();
  if (relock == LockResult::owner_died) return WaitResult::owner_died;
  return woke == platform::FutexWait::timed_out ? WaitResult::timed_out : WaitResult::notified;
}

void ConditionState::notify(int count) noexcept {
  // [N1] then [N2], both seq_cst. If a waiter's [C1] precedes [N2] we see it
  // and wake it (its FUTEX_WAIT also fails at once if it read the old seq).
  // If not, its seq read follows [N1]: it waits on the new value, correctly,
  // since it began waiting after this notify.
  seq.fetch_add(1, std::memory_order_seq_cst);
  if (waiters.load(std::memory_order_seq_cst) != 0) platform::futex_wake(seq, count);
}

}  // namespace shmkit::sync
