#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "harness/context.hpp"

// Processes for one repetition of a case, and the little protocol they share.
//
// Team::spawn forks a child that pins itself to the CPU of its role, runs its
// body and exits: 0 when the body returns, 1 with the message when it throws
// (a failed check throws CaseFailure). Team::join waits for every child under a
// watchdog (SIGALRM kills them all) and turns any failure into a CaseFailure in
// the main process. A child dies with the main process (PR_SET_PDEATHSIG).
//
// Children get the main process's mappings (a SharedBlock, a named shmkit
// object), which is how they share memory and report figures.

namespace shmkit::bench {

// The CPUs this process may run on (sched_getaffinity), ascending.
std::vector<int> usable_cpus();

// Pins the calling process to `cpu`; throws CaseFailure if it cannot.
void pin_to_cpu(int cpu);

// Installs the SIGALRM handler that the watchdog uses (main, once).
void install_watchdog();

class Team {
 public:
  explicit Team(const Context& ctx)
      : cpus_(ctx.options().cpus),
        watchdog_(ctx.options().watchdog),
        stack_shift_(ctx.stack_shift()) {}
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;
  // Kills and reaps any child not joined (a case that threw before join()).
  ~Team();

  // Forks the process for `role`, pinned to the role's CPU, running `body`
  // on a stack moved down by the repetition's Context::stack_shift().
  void spawn(int role, std::function<void()> body);
  // Waits for every child; throws CaseFailure naming each that failed,
  // crashed or outlived the watchdog.
  void join();

 private:
  struct Child {
    pid_t pid;
    int role;
    int cpu;
    int message_fd;  // read end of the pipe the child writes its error to
  };
  std::vector<int> cpus_;
  std::chrono::seconds watchdog_;
  std::size_t stack_shift_;
  std::vector<Child> children_;
};

// Spins on a shared word. Never a sleep: a wait here is a few hundred ns. But
// it yields the CPU now and then (every 64 polls when the peer shares our CPU,
// every 2^16 otherwise, a wait of tens of microseconds: the peer was preempted),
// so a 1-CPU machine still makes progress. polls() counts the calls: the
// looks that found nothing to do.
class SpinWait {
 public:
  explicit SpinWait(bool shared_core) noexcept : mask_(shared_core ? 63u : 65535u) {}
  void operator()() noexcept {
    if ((++polls_ & mask_) == 0) yield();
  }
  [[nodiscard]] std::uint64_t polls() const noexcept { return polls_; }

 private:
  static void yield() noexcept;
  std::uint32_t mask_;
  std::uint64_t polls_ = 0;
};

// A start line for the processes of one repetition: each arrives, then all
// leave together, so that no process measures while its peer is still being
// forked. Lives in shared memory; zero is the initial state.
struct StartLine {
  std::atomic<std::uint32_t> arrived;
  void arrive_and_wait(std::uint32_t parties, bool shared_core) noexcept {
    arrived.fetch_add(1, std::memory_order_acq_rel);
    SpinWait spin(shared_core);
    while (arrived.load(std::memory_order_acquire) < parties) spin();
  }
};

// What every measured loop runs first, unmeasured: page faults, caches, the
// CPU clock ramping up.
inline constexpr std::chrono::milliseconds kWarmUp{10};

// The end of a time-boxed measurement: `duration` has passed and at least
// `min_count` samples were taken, or 4 x `duration` has passed regardless (a
// slow system on a busy machine still gets enough samples for a p99, and a
// stuck one still ends). Reads now_ns() only every `every` calls.
class TimeBox {
 public:
  TimeBox(std::chrono::nanoseconds duration, std::uint32_t every,
          std::size_t min_count = 0) noexcept;
  bool expired(std::size_t count = 0) noexcept {
    if (++calls_ < every_) return false;
    calls_ = 0;
    return check(count);
  }
  [[nodiscard]] std::int64_t start_ns() const noexcept { return start_; }

 private:
  bool check(std::size_t count) const noexcept;
  std::int64_t start_;
  std::int64_t end_;
  std::int64_t hard_end_;
  std::size_t min_count_;
  std::uint32_t every_;
  std::uint32_t calls_ = 0;
};

}  // namespace shmkit::bench
