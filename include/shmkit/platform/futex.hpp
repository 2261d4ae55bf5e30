#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

// Futex wait and wake on a 32-bit word in shared memory (platform layer).
//
// Never uses FUTEX_PRIVATE_FLAG: the word may be mapped by several processes
// at different addresses, and the kernel must key the wait on the underlying
// page, not on this process's address space. (std::atomic::wait in libstdc++ 12
// uses private futexes and a process-local table, so it cannot do this.)

namespace shmkit::platform {

using Deadline = std::optional<std::chrono::steady_clock::time_point>;  // nullopt: forever

enum class FutexWait {
  woken,          // a wake arrived (or a spurious wake-up: re-check the word)
  value_changed,  // the word no longer held `expected` when we tried to sleep
  timed_out,      // the deadline passed
  interrupted,    // a signal arrived; re-check and wait again
};

// Sleeps while `word` holds `expected`, until woken or `deadline` (steady clock,
// absolute) passes. Callers loop: a wake-up says "re-check", never "your turn".
FutexWait futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     Deadline deadline) noexcept;

// Wakes up to `count` waiters on `word`; returns how many were woken.
int futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

// Wakes every waiter on `word`.
int futex_wake_all(std::atomic<std::uint32_t>& word) noexcept;

}  // namespace shmkit::platform
