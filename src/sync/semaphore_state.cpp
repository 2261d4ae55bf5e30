#include "shmkit/sync/semaphore_state.hpp"

#include "shmkit/platform/spin.hpp"

namespace shmkit::sync {
namespace {
// When this thread may next drop a semaphore's waiters (release()).
thread_local std::chrono::steady_clock::time_point t_next_drop{};
}  // namespace

bool SemaphoreState::try_acquire() noexcept {
  std::uint32_t c = count.load(std::memory_order_relaxed);
  // Cases: (a) c == 0: nothing to take; (b) the CAS wins: one unit is ours;
  // (c) it fails: c is reloaded (another acquirer or releaser moved it); retry.
  while (c != 0) {
    // acquire pairs with release(): what the releaser wrote before it is visible.
    if (count.compare_exchange_weak(c, c - 1, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

bool SemaphoreState::acquire_until(platform::Deadline deadline) noexcept {
  for (int i = 0; i < platform::kSpinIterations; ++i) {
    if (try_acquire()) return true;
    platform::cpu_relax();
  }
  // seq_cst (in join()): ordered before the count re-check, paired with
  // release()'s RMW and waiters load (Dekker): either it sees us, or we see
  // its unit.
  std::uint32_t joined = SyncWaiters::join(waiters);
  bool taken = false;
  for (;;) {
    // Read before the re-check: a release after it moves the word, so the
    // wait below returns at once.
    const std::uint32_t seq = wake_seq.load(std::memory_order_seq_cst);
    if (try_acquire()) {
      taken = true;
      break;
    }
    // A release that woke nobody dropped the count (drop_and_wake()): we would
    // sleep uncounted. Join again and look again.
    if (SyncWaiters::dropped(waiters, joined)) {
      joined = SyncWaiters::join(waiters);
      continue;
    }
    if (platform::futex_wait(wake_seq, seq, deadline) == platform::FutexWait::timed_out) {
      taken = try_acquire();
      break;
    }
  }
  SyncWaiters::leave(waiters, joined);
  return taken;
}

bool SemaphoreState::release(std::uint32_t n) noexcept {
  if (n == 0) return true;
  if (n > kSemaphoreMax) return false;  // (and kSemaphoreMax - n below cannot wrap)
  std::uint32_t c = count.load(std::memory_order_relaxed);
  do {
    if (c > kSemaphoreMax - n) return false;
    // seq_cst RMW: release for the data handed over, and ordered before the
    // waiters load below (see acquire_until()).
  } while (
      !count.compare_exchange_weak(c, c + n, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (SyncWaiters::count(waiters.load(std::memory_order_seq_cst)) != 0) {
    wake_seq.fetch_add(1, std::memory_order_seq_cst);
    // n <= kSemaphoreMax, which is INT_MAX: the cast keeps it.
    if (platform::futex_wake(wake_seq, static_cast<int>(n)) == 0) {
      // Nobody woke: the waiters counted are about to sleep, or were just
      // woken, or died waiting; a dead one's count would make every release
      // a system call. The live ones wake and join the new generation
      // (platform/waiter_generations.hpp).
      if (drop_turn(t_next_drop)) SyncWaiters::drop_and_wake(waiters, wake_seq);
    }
  }
  return true;
}

}  // namespace shmkit::sync
