#include "shmkit/platform/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace shmkit::platform {
namespace {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

long futex(const std::atomic<std::uint32_t>& word, int op, std::uint32_t val,
           const timespec* timeout, std::uint32_t val3) noexcept {
  // The kernel reads the word; it never writes through this pointer for WAIT.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): syscall ABI takes a non-const pointer.
  auto* addr = const_cast<std::atomic<std::uint32_t>*>(&word);
  return ::syscall(SYS_futex, addr, op, val, timeout, nullptr, val3);
}

}  // namespace

FutexWait futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                     Deadline deadline) noexcept {
  timespec abs{};
  const timespec* timeout = nullptr;
  if (deadline) {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, which is what
    // steady_clock reads on Linux; spurious wake-ups then need no recomputation.
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
    if (ns <= 0) return FutexWait::timed_out;
    abs.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    abs.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    timeout = &abs;
  }
  const long rc = futex(word, FUTEX_WAIT_BITSET, expected, timeout, FUTEX_BITSET_MATCH_ANY);
  if (rc == 0) return FutexWait::woken;
  switch (errno) {
    case EAGAIN: return FutexWait::value_changed;
    case ETIMEDOUT: return FutexWait::timed_out;
    case EINTR: return FutexWait::interrupted;
    default: return FutexWait::woken;  // EFAULT/EINVAL cannot happen for a mapped word; re-check
  }
}

int futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  const long rc = futex(word, FUTEX_WAKE, static_cast<std::uint32_t>(count), nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

int futex_wake_all(std::atomic<std::uint32_t>& word) noexcept { return futex_wake(word, INT_MAX); }

}  // namespace shmkit::platform
