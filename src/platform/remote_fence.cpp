#include "shmkit/platform/remote_fence.hpp"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace shmkit::platform {

constinit std::atomic<light_fence_registration::State> light_fence_registration::state{
    light_fence_registration::State::unknown};

namespace {

using LightFenceState = light_fence_registration::State;

long membarrier(int cmd) noexcept { return ::syscall(SYS_membarrier, cmd, 0U, 0); }

LightFenceState try_register() noexcept {
  const long commands = membarrier(MEMBARRIER_CMD_QUERY);
  constexpr long kNeeded =
      MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
  if (commands < 0 || (commands & kNeeded) != kNeeded) return LightFenceState::unavailable;
  if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0) {
    return LightFenceState::unavailable;
  }
  // A fence that a seccomp filter would refuse must be found out now, not
  // when a peer relies on it.
  if (membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0) return LightFenceState::unavailable;
  return LightFenceState::registered;
}

// The child of fork() has a fresh address space that is not registered: do
// it again before the child runs any code that relies on it.
void reregister_in_child() noexcept {
  if (light_fence_registration::state.load(std::memory_order_relaxed) ==
      LightFenceState::registered) {
    light_fence_registration::state.store(try_register(), std::memory_order_relaxed);
  }
}

const int kAtforkRegistered = ::pthread_atfork(nullptr, nullptr, &reregister_in_child);

}  // namespace

bool light_fence_registration::register_now() noexcept {
  (void)kAtforkRegistered;
  LightFenceState now = state.load(std::memory_order_acquire);
  if (now == LightFenceState::unknown) {
    // Two threads may both register: harmless, it is idempotent.
    const LightFenceState result = try_register();
    state.compare_exchange_strong(now, result, std::memory_order_acq_rel);
    now = state.load(std::memory_order_acquire);
  }
  return now == LightFenceState::registered;
}

bool remote_fence() noexcept { return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0; }

void disable_light_fences_for_testing() noexcept {
  light_fence_registration::state.store(LightFenceState::unavailable, std::memory_order_release);
}

}  // namespace shmkit::platform
