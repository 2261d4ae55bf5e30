#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "shmkit/platform/futex.hpp"
#include "shmkit/platform/interrupt.hpp"
#include "shmkit/queue.hpp"

// put and get stop on SIGINT, SIGTERM and SIGHUP instead of dying of them:
// a process killed by a signal stays in the queue's table of attached
// processes, and a queue whose attached processes all died is what
// 'shmkit rm --stale' removes, messages and all. The library's waits sleep
// through signals (they look again and wait again), so put and get wait in
// steps of kSignalCheck and look for a signal between them.

namespace shmkit::cli {

inline constexpr std::chrono::milliseconds kSignalCheck{100};

// Calls `wait(step)`, a timed queue call returning QueueStatus, in steps of
// at most kSignalCheck, until it returns anything but timed_out, or
// `deadline` passes (timed_out; nullopt: never), or a signal has come
// (nullopt). Calls it at least once, with a step of 0 if the deadline passed.
template <class Wait>
std::optional<QueueStatus> wait_in_steps(const platform::InterruptWatch& interrupts,
                                         platform::Deadline deadline, Wait wait) {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    if (interrupts.signal() != 0) return std::nullopt;
    std::chrono::nanoseconds step = kSignalCheck;
    if (deadline)
      step = std::max(std::chrono::nanoseconds(0), std::min(step, *deadline - Clock::now()));
    const QueueStatus status = wait(step);
    if (status != QueueStatus::timed_out) return status;
    if (deadline && Clock::now() >= *deadline) return QueueStatus::timed_out;
  }
}

// "interrupted by signal 2 (Interrupt)": how put and get say why they stopped.
std::string interrupted_by(int signal);

}  // namespace shmkit::cli
