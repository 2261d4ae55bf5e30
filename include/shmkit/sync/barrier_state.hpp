#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shmkit/platform/futex.hpp"

// BarrierState: a reusable process-shared barrier for a fixed number of parties
// (Python's multiprocessing.Barrier). A plain layout struct (embed it, or use
// the named shmkit::Barrier).
//
// Death: a barrier cannot tell a dead party from a slow one. If a party dies,
// the others wait until their timeout; the first to time out breaks the
// barrier, which wakes every waiter with `broken`, and every later arrival gets
// `broken` at once until reset(). Thread-safe and process-safe.

namespace shmkit::sync {

enum class BarrierResult {
  passed,     // every party arrived; the barrier moved on to the next generation
  last,       // passed, and the caller was the last to arrive (one per generation)
  broken,     // a party timed out or reset() was called: the generation failed
  timed_out,  // the caller's deadline passed; the barrier is now broken
};

inline constexpr std::uint32_t kBarrierBroken = 0x80000000u;  // bit of `generation`

// Shared layout, 16 bytes.
struct BarrierState {
  std::uint32_t parties;               // set by the creator, immutable; >= 1
  std::atomic<std::uint32_t> arrived;  // parties arrived in this generation
  // Futex word: generation count (low 31 bits) | kBarrierBroken. Advanced by
  // the last arrival; the broken bit is set by a party that times out.
  std::atomic<std::uint32_t> generation;
  std::atomic<std::uint32_t> waiters;  // parties about to sleep or asleep

  // Arrives and waits for the other parties until `deadline` (nullopt: forever).
  BarrierResult arrive_and_wait(platform::Deadline deadline) noexcept {
    return arrive_and_wait(parties, deadline);
  }
  // As above, for `party_count` parties: a handle passes the count it read and
  // validated at open, so a `parties` overwritten later (a buggy or hostile
  // process) cannot make every wait pass.
  BarrierResult arrive_and_wait(std::uint32_t party_count, platform::Deadline deadline) noexcept;
  // Breaks the current generation: waiters get `broken`.
  void break_barrier() noexcept;
  // Repairs a broken barrier for a new generation. Call it when no party is
  // waiting (after every party has seen `broken`).
  void reset() noexcept;
  [[nodiscard]] bool broken() const noexcept {
    return (generation.load(std::memory_order_acquire) & kBarrierBroken) != 0;
  }
};
static_assert(std::is_standard_layout_v<BarrierState>);
static_assert(sizeof(BarrierState) == 16);
static_assert(offsetof(BarrierState, arrived) == 4);
static_assert(offsetof(BarrierState, generation) == 8);
static_assert(offsetof(BarrierState, waiters) == 12);

}  // namespace shmkit::sync
