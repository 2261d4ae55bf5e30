#pragma once

#include <cstdint>

#include "shmkit/platform/waiter_generations.hpp"

// The waiters word of MutexState, ConditionState, SemaphoreState and
// EventState: the count bits, at most 65535 threads waiting on one, under a
// generation (platform/waiter_generations.hpp). A barrier keeps a bare count
// (docs/design/layout.md says why).

namespace shmkit::sync {

inline constexpr std::uint32_t kSyncWaiterCount = 0xffffu;
using SyncWaiters = platform::WaiterGenerations<std::uint32_t, kSyncWaiterCount>;

}  // namespace shmkit::sync
