#include "shmkit/platform/remote_fence.hpp"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace shmkit::platform {

std::atomic<detail::LightFenceState> detail::light_fence_state{detail::LightFenceState::unknown};

namespace {

using detail::LightFenceState;

long membarrier(int cmd) noexcept { return ::syscall(SYS_membarrier, cmd, 0U, 0); }

LightFenceState try_register() noexcept {
  const long commands = membarrier(MEMBARRIER_CMD_QUERY);
  constexpr long needed =
      MEMBARRIER_CMD_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
  if (commands < 0 || (commands & needed) != needed) return LightFenceState::unavailable;
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
  if (detail::light_fence_state.load(std::memory_order_relaxed) == LightFenceState::registered) {
    detail::light_fence_state.store(try_register(), std::memory_order_relaxed);
  }
}

const int kAtforkRegistered = ::pthread_atfork(nullptr, nullptr, &reregister_in_child);

}  // namespace

bool detail::register_light_fences() noexcept {
  (void)kAtforkRegistered;
  LightFenceState state = detail::light_fence_state.load(std::memory_order_acquire);
  if (state == LightFenceState::unknown) {
    // Two threads may both register: harmless, it is idempotent.
    const LightFenceState result = try_register();
    detail::light_fence_state.compare_exchange_strong(state, result, std::memory_order_acq_rel);
    state = detail::light_fence_state.load(std::memory_order_acquire);
  }
  return state == LightFenceState::registered;
}

bool remote_fence() noexcept { return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0; }

void disable_light_fences_for_testing() noexcept {
  detail::light_fence_state.store(LightFenceState::unavailable, std::memory_order_release);
}

}  // namespace shmkit::platform
