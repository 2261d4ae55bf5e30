#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/shared_memory.hpp"
#include "test_support.hpp"

// Helpers for the sync tests: iteration scaling under TSan, checks inside
// forked children, a struct placed in a SharedMemory, threads, and waiting
// (bounded) until a process or thread is asleep in the kernel.

namespace shmkit::test {

// TSan runs the algorithms 5-20x slower; the thread tests keep their shape
// with fewer iterations there.
#if defined(__SANITIZE_THREAD__)
inline constexpr int kSlowdown = 10;
#else
inline constexpr int kSlowdown = 1;
#endif
constexpr int scaled(int n) { return std::max(1, n / kSlowdown); }

// A generous bound for any single blocking call that must succeed: reaching it
// means a bug (a lost wake-up, a dead lock), never slowness.
inline constexpr auto kGenerous = std::chrono::seconds(5);
inline constexpr int kGenerousMs = 5000;

// In a forked child (no gtest there): throws, so the child exits 1 with `what`
// on stderr, unless `ok`.
inline void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// A T value-initialised at the start of a fresh SharedMemory named `name`
// (zero-filled memory: every sync state starts free/clear/zero). Forked
// children share it through the inherited mapping.
template <class T>
class SharedStruct {
 public:
  explicit SharedStruct(std::string_view name)
      : memory_(SharedMemory::create(name, sizeof(T))), object_(::new (memory_.data()) T{}) {}
  T& operator*() const noexcept { return *object_; }
  T* operator->() const noexcept { return object_; }
  [[nodiscard]] T* get() const noexcept { return object_; }

 private:
  SharedMemory memory_;
  T* object_;
};

// Runs body(0..n-1) on n threads and joins them.
inline void run_threads(int n, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) threads.emplace_back(body, i);
  for (auto& t : threads) t.join();
}

// Field 3 of /proc/ID/stat (R, S, D, Z...) for a process or thread id; '?' if
// it cannot be read.
inline char proc_state(pid_t id) {
  std::ifstream in("/proc/" + std::to_string(id) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return '?';
  return text[paren + 2];
}

// Polls `done` until it holds or `timeout_ms` passes. For conditions that have
// no descriptor to wait on (a process asleep in FUTEX_WAIT); the pause bounds
// the poll's cost, it is not a wait for anything to settle.
inline bool eventually(const std::function<bool()>& done, int timeout_ms = kGenerousMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

// True once `waiters` counts at least `n` and every id in `ids` is sleeping
// (state S). A sync waiter counts itself before its only sleep, FUTEX_WAIT, so
// this means each of them is asleep in the kernel.
inline bool wait_until_asleep(const std::function<std::uint32_t()>& waiting, std::uint32_t n,
                              const std::vector<pid_t>& ids) {
  return eventually([&] {
    if (waiting() < n) return false;
    return std::all_of(ids.begin(), ids.end(), [](pid_t id) { return proc_state(id) == 'S'; });
  });
}
inline bool wait_until_asleep(const std::atomic<std::uint32_t>& waiters, std::uint32_t n,
                              const std::vector<pid_t>& ids) {
  return wait_until_asleep([&] { return waiters.load(std::memory_order_relaxed); }, n, ids);
}

// Forks a child that runs `sleep` (a wait that sleeps until it is killed),
// waits until `waiting` counts it and it is asleep, then SIGKILLs and reaps
// it: a sleeper killed asleep, whose count it leaves behind.
inline ::testing::AssertionResult kill_asleep(const std::function<void()>& sleep,
                                              const std::function<std::uint32_t()>& waiting) {
  const pid_t victim = fork_child(sleep);
  const bool asleep = wait_until_asleep(waiting, 1, {victim});
  ::kill(victim, SIGKILL);
  const int status = wait_exit_code(victim);
  if (!asleep) return ::testing::AssertionFailure() << "the child was never counted asleep";
  if (status != kKilled) return ::testing::AssertionFailure() << "the child ended with " << status;
  return ::testing::AssertionSuccess();
}

// Forks a child that runs `hold` (it takes a lock and writes half an update,
// say), which calls stay() where it is to be killed: stay() never returns.
// SIGKILLs and reaps the child there: a holder killed in the middle of its
// work.
inline ::testing::AssertionResult kill_holding(
    const std::function<void(const std::function<void()>& stay)>& hold) {
  const Pipe holding;
  const pid_t holder = fork_child([&] {
    hold([&] {
      holding.send();
      for (;;) ::pause();
    });
  });
  const bool held = holding.receive();
  ::kill(holder, SIGKILL);
  const int status = wait_exit_code(holder);
  if (!held) return ::testing::AssertionFailure() << "the child never called stay()";
  if (status != kKilled) return ::testing::AssertionFailure() << "the child ended with " << status;
  return ::testing::AssertionSuccess();
}

// Runs `wait` on a new thread, waits until `waiting` counts it and it is
// asleep, then runs `wake` (whatever happened, so that the thread ends):
// success if it slept and `wait` then returned true.
inline ::testing::AssertionResult sleeps_then_wakes(const std::function<bool()>& wait,
                                                    const std::function<std::uint32_t()>& waiting,
                                                    const std::function<void()>& wake) {
  std::atomic<pid_t> tid{0};
  bool done = false;
  std::thread sleeper([&] {
    tid.store(platform::current_tid());
    done = wait();
  });
  while (tid.load() == 0) std::this_thread::yield();
  const bool asleep = wait_until_asleep(waiting, 1, {tid.load()});
  wake();
  sleeper.join();
  if (!asleep) return ::testing::AssertionFailure() << "the thread was never counted asleep";
  if (!done) return ::testing::AssertionFailure() << "its wait failed after the wake-up";
  return ::testing::AssertionSuccess();
}

// Waits for every pid; true if each exited with 0.
inline bool all_exit_zero(const std::vector<pid_t>& pids) {
  bool ok = true;
  for (const pid_t pid : pids) ok = (wait_exit_code(pid) == 0) && ok;
  return ok;
}

}  // namespace shmkit::test
