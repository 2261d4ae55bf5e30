#include "shmkit/sync/semaphore_state.hpp"

#include "shmkit/platform/spin.hpp"

namespace shmkit::sync {

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
  // seq_cst: ordered before the count re-check, paired with release()'s RMW
  // and waiters load (Dekker): either it sees us, or we see its unit.
  waiters.fetch_add(1, std::memory_order_seq_cst);
  bool taken = false;
  for (;;) {
    if (try_acquire()) {
      taken = true;
      break;
    }
    if (platform::futex_wait(count, 0, deadline) == platform::FutexWait::timed_out) {
      taken = try_acquire();
      break;
    }
  }
  waiters.fetch_sub(1, std::memory_order_relaxed);
  return taken;
}

bool SemaphoreState::release(std::uint32_t n) noexcept {
  if (n == 0) return true;
  std::uint32_t c = count.load(std::memory_order_relaxed);
  do {
    if (c > kSemaphoreMax - n) return false;
    // seq_cst RMW: release for the data handed over, and ordered before the
    // waiters load below (see acquire_until()).
  } while (
      !count.compare_exchange_weak(c, c + n, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (waiters.load(std::memory_order_seq_cst) != 0) {
    platform::futex_wake(count, static_cast<int>(n));
  }
  return true;
}

}  // namespace shmkit::sync
