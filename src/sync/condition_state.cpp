#include "shmkit/sync/condition_state.hpp"

namespace shmkit::sync {
namespace {
// When this thread may next drop a condition's waiters (notify()).
thread_local std::chrono::steady_clock::time_point t_next_drop{};
}  // namespace

WaitResult ConditionState::wait_until(MutexState& mutex, platform::Deadline deadline) noexcept {
  // [C1] seq_cst (in join()): ordered before notify()'s load of waiters [N2]
  // (Dekker).
  std::uint32_t joined = SyncWaiters::join(waiters);
  // Read under the mutex: a notifier that changes the predicate after we
  // release it also bumps seq after this read.
  std::uint32_t s = seq.load(std::memory_order_seq_cst);
  // A notify that woke nobody dropped the count (drop_and_wake()) after we
  // joined: we would sleep uncounted. Join again, and read seq again.
  while (SyncWaiters::dropped(waiters, joined)) {
    joined = SyncWaiters::join(waiters);
    s = seq.load(std::memory_order_seq_cst);
  }
  mutex.unlock();
  const auto woke = platform::futex_wait(seq, s, deadline);
  SyncWaiters::leave(waiters, joined);
  // Cannot throw: this thread held the mutex, so its identity is cached.
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
  if (SyncWaiters::count(waiters.load(std::memory_order_seq_cst)) != 0 &&
      platform::futex_wake(seq, count) == 0) {
    // Nobody woke: the waiters counted are about to sleep, or were just
    // woken, or died waiting; a dead one's count would make every notify a
    // system call. The live ones wake spuriously and join the new
    // generation (platform/waiter_generations.hpp).
    if (drop_turn(t_next_drop)) SyncWaiters::drop_and_wake(waiters, seq);
  }
}

}  // namespace shmkit::sync
