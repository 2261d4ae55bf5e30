#include "shmkit/sync/barrier_state.hpp"

namespace shmkit::sync {

BarrierResult BarrierState::arrive_and_wait(std::uint32_t party_count,
                                            platform::Deadline deadline) noexcept {
  // acquire pairs with the release of the previous generation's last arrival.
  const std::uint32_t gen = generation.load(std::memory_order_acquire);
  if ((gen & kBarrierBroken) != 0) return BarrierResult::broken;
  // acq_rel: our writes before the barrier are released to the last arrival,
  // which releases them all to everyone with the generation bump.
  const std::uint32_t n = arrived.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (n >= party_count) {
    // Last arrival. Reset the count before the bump: no party of the next
    // generation can arrive before it sees the bump.
    arrived.store(0, std::memory_order_relaxed);
    std::uint32_t expected = gen;
    const std::uint32_t next = (gen + 1) & ~kBarrierBroken;
    // Cases: (a) the CAS wins: the generation passed; (b) it fails: a party
    // timed out and set the broken bit first: this generation failed.
    // seq_cst: release for everyone's writes, and ordered before the waiters load.
    if (!generation.compare_exchange_strong(expected, next, std::memory_order_seq_cst,
                                            std::memory_order_acquire)) {
      return BarrierResult::broken;
    }
    if (waiters.load(std::memory_order_seq_cst) != 0) platform::futex_wake_all(generation);
    return BarrierResult::last;
  }
  waiters.fetch_add(1, std::memory_order_seq_cst);
  BarrierResult result = BarrierResult::passed;
  for (;;) {
    const std::uint32_t now = generation.load(std::memory_order_acquire);
    if (now != gen) {
      result = (now & kBarrierBroken) != 0 && (now & ~kBarrierBroken) == (gen & ~kBarrierBroken)
                   ? BarrierResult::broken
                   : BarrierResult::passed;
      break;
    }
    if (platform::futex_wait(generation, gen, deadline) == platform::FutexWait::timed_out) {
      std::uint32_t expected = gen;
      // Cases: (a) we set the broken bit: we timed out, others get broken;
      // (b) the generation moved on meanwhile: loop and report what happened.
      if (generation.compare_exchange_strong(expected, gen | kBarrierBroken,
                                             std::memory_order_seq_cst)) {
        platform::futex_wake_all(generation);
        result = BarrierResult::timed_out;
        break;
      }
    }
  }
  waiters.fetch_sub(1, std::memory_order_relaxed);
  return result;
}

void BarrierState::break_barrier() noexcept {
  generation.fetch_or(kBarrierBroken, std::memory_order_seq_cst);
  platform::futex_wake_all(generation);
}

void BarrierState::reset() noexcept {
  arrived.store(0, std::memory_order_relaxed);
  const std::uint32_t gen = generation.load(std::memory_order_relaxed);
  // release: the reset count is visible before the new generation.
  generation.store((gen + 1) & ~kBarrierBroken, std::memory_order_release);
  platform::futex_wake_all(generation);
}

}  // namespace shmkit::sync
