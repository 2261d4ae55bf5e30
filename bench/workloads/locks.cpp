#include "workloads/locks.hpp"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include "harness/clock.hpp"
#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "shmkit/sync/mutex.hpp"

namespace shmkit::bench {
namespace {

constexpr std::chrono::microseconds kAsleepDelay{100};

struct RoleResult {
  std::uint64_t ops;
  std::uint64_t owner_changes;
  std::int64_t start_ns;
  std::int64_t end_ns;
  std::int64_t cpu_ns;  // CPU time the process spent in the loop
};

struct LockShared {
  alignas(kCacheLine) pthread_mutex_t pmutex;  // the pthread lock under test
  // The protected data: written only by the holder of the lock under test.
  alignas(kCacheLine) std::uint64_t counter;
  std::uint64_t last_owner;
  alignas(kCacheLine) StartLine start;
  // Hand-off protocol (mutex_handoff_rep): written by the holder.
  alignas(kCacheLine) std::atomic<std::uint64_t> turn;
  std::atomic<std::int64_t> released_ns;
  std::atomic<std::uint32_t> stop;
  // Written by the receiver just before it calls lock().
  alignas(kCacheLine) std::atomic<std::uint64_t> announced;
  alignas(kCacheLine) RoleResult results[2];
  std::uint64_t warm_ops[2];  // increments before the measured loop, per role
};

// The two locks under test, each behind the same two calls so that every loop
// is compiled once per lock with direct calls. Anything but a clean acquire
// (a dead owner, an error) fails the case: nobody dies here.
class ShmkitLock {
 public:
  explicit ShmkitLock(Mutex& m) : m_(m) {}
  void lock() {
    const LockResult r = m_.lock();
    if (r != LockResult::acquired) throw CaseFailure("shmkit::Mutex::lock() did not acquire");
  }
  void unlock() noexcept { m_.unlock(); }

 private:
  Mutex& m_;
};

class PthreadLock {
 public:
  explicit PthreadLock(pthread_mutex_t& m) : m_(m) {}
  void lock() {
    const int rc = ::pthread_mutex_lock(&m_);
    if (rc != 0) throw CaseFailure(std::string("pthread_mutex_lock: ") + std::strerror(rc));
  }
  void unlock() noexcept { ::pthread_mutex_unlock(&m_); }

 private:
  pthread_mutex_t& m_;
};

// The lock of `kind`, fresh, for one repetition; calls `body(lock)` with it.
template <class Body>
void with_lock(LockKind kind, LockShared& shared, Body body) {
  if (kind == LockKind::shmkit) {
    ScopedName name("mutex");
    Mutex m = Mutex::create(name.str());
    ShmkitLock lock(m);
    body(lock);
    return;
  }
  pthread_mutexattr_t attr;
  ::pthread_mutexattr_init(&attr);
  ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  const int rc = ::pthread_mutex_init(&shared.pmutex, &attr);
  ::pthread_mutexattr_destroy(&attr);
  if (rc != 0) throw CaseFailure(std::string("pthread_mutex_init: ") + std::strerror(rc));
  PthreadLock lock(shared.pmutex);
  try {
    body(lock);
  } catch (...) {
    ::pthread_mutex_destroy(&shared.pmutex);
    throw;
  }
  ::pthread_mutex_destroy(&shared.pmutex);
}

template <class Lock>
void increment_loop(Lock& lock, LockShared& s, int role, std::chrono::nanoseconds duration) {
  const auto me = static_cast<std::uint64_t>(role + 1);
  std::uint64_t ops = 0;
  std::uint64_t changes = 0;
  const std::int64_t cpu_start = thread_cpu_ns();
  TimeBox box(duration, 1);
  do {
    for (int k = 0; k < 256; ++k) {
      lock.lock();
      if (s.last_owner != me) {
        s.last_owner = me;
        ++changes;
      }
      ++s.counter;
      lock.unlock();
    }
    ops += 256;
  } while (!box.expired());
  const std::int64_t end = now_ns();
  s.results[role] = RoleResult{ops, changes, box.start_ns(), end, thread_cpu_ns() - cpu_start};
}

// Warm-up: the first lock of a process reads /proc (shmkit's thread identity);
// then a burst to settle caches and the clock.
template <class Lock>
std::uint64_t warm_up(Lock& lock, LockShared& s) {
  std::uint64_t ops = 0;
  TimeBox box(kWarmUp, 1);
  do {
    for (int k = 0; k < 64; ++k) {
      lock.lock();
      ++s.counter;
      lock.unlock();
    }
    ops += 64;
  } while (!box.expired());
  return ops;
}

void check_counter(const LockShared& s, std::uint64_t expected, const std::string& system) {
  if (s.counter != expected) {
    throw CaseFailure(system + ": counter is " + std::to_string(s.counter) + " after " +
                      std::to_string(expected) + " locked increments: mutual exclusion broken");
  }
}

}  // namespace

void mutex_uncontended_rep(Context& ctx, const std::string& system, LockKind kind) {
  SharedBlock<LockShared> block;
  LockShared& s = *block;
  with_lock(kind, s, [&](auto& lock) {
    Team team(ctx);
    team.spawn(0, [&] {
      s.warm_ops[0] = warm_up(lock, s);
      increment_loop(lock, s, 0, ctx.duration());
    });
    team.join();
  });
  const RoleResult& r = s.results[0];
  check_counter(s, r.ops + s.warm_ops[0], system);
  ctx.record(system, metrics::kLockUnlock,
             static_cast<double>(r.end_ns - r.start_ns) / static_cast<double>(r.ops));
  ctx.record(system, metrics::kLockUnlockCpu,
             static_cast<double>(r.cpu_ns) / static_cast<double>(r.ops));
}

void mutex_contended_rep(Context& ctx, const std::string& system, LockKind kind) {
  SharedBlock<LockShared> block;
  LockShared& s = *block;
  with_lock(kind, s, [&](auto& lock) {
    Team team(ctx);
    for (int role = 0; role < 2; ++role) {
      team.spawn(role, [&, role] {
        // A lock of our own first (shmkit reads /proc on a process's first
        // lock), then both start together.
        lock.lock();
        ++s.counter;
        lock.unlock();
        s.warm_ops[role] = 1;
        s.start.arrive_and_wait(2, ctx.shared_core());
        increment_loop(lock, s, role, ctx.duration());
      });
    }
    team.join();
  });
  const RoleResult& a = s.results[0];
  const RoleResult& b = s.results[1];
  const std::uint64_t ops = a.ops + b.ops;
  check_counter(s, ops + s.warm_ops[0] + s.warm_ops[1], system);
  const auto elapsed =
      static_cast<double>(std::max(a.end_ns, b.end_ns) - std::min(a.start_ns, b.start_ns));
  ctx.record(system, metrics::kLockUnlock, elapsed / static_cast<double>(ops));
  ctx.record(system, metrics::kOpsPerSecond, static_cast<double>(ops) / elapsed * 1e9);
  ctx.record(
      system, metrics::kHandoffsPer1000,
      1000.0 * static_cast<double>(a.owner_changes + b.owner_changes) / static_cast<double>(ops));
}

namespace {

// One side of the hand-off protocol. The lock alternates: the holder of turn
// t sets turn = t + 1, waits until the other process has announced t + 1 (it
// is about to call lock()), stamps released_ns and unlocks; the other's
// lock() returns, it checks turn == its turn and records now - released_ns.
// Before it can hand back, the first one waits until the other holds the lock
// (turn == t + 2), announces t + 2 and calls lock() in its turn.
template <class Lock>
void handoff_role(Lock& lock, LockShared& s, int role, const Context& ctx, bool asleep,
                  SampleBuffer& samples) {
  SpinWait spin(ctx.shared_core());
  std::uint64_t my_turn = static_cast<std::uint64_t>(role);
  bool holding = false;
  if (role == 0) {
    lock.lock();
    holding = true;
  }
  samples.prefault();
  s.start.arrive_and_wait(2, ctx.shared_core());
  TimeBox box(kWarmUp, 1);
  bool measuring = false;
  for (;;) {
    if (!holding) {
      s.announced.store(my_turn, std::memory_order_release);
      lock.lock();
      const std::int64_t t = now_ns();
      const std::int64_t released = s.released_ns.load(std::memory_order_acquire);
      if (s.stop.load(std::memory_order_acquire) != 0) {
        lock.unlock();
        return;
      }
      const std::uint64_t turn = s.turn.load(std::memory_order_relaxed);
      if (turn != my_turn) {
        throw CaseFailure("hand-off: acquired in turn " + std::to_string(turn) + ", expected " +
                          std::to_string(my_turn));
      }
      if (measuring) samples.push(static_cast<std::uint64_t>(t > released ? t - released : 0));
      holding = true;
    }
    // Holding, in my_turn: pass the turn on.
    s.turn.store(my_turn + 1, std::memory_order_relaxed);  // published by unlock()
    while (s.announced.load(std::memory_order_acquire) != my_turn + 1) spin();
    if (asleep) {
      const std::int64_t until = now_ns() + std::chrono::nanoseconds(kAsleepDelay).count();
      while (now_ns() < until) {
      }
    }
    // Each role measures after its own warm-up; role 0 ends the repetition
    // (the other, waiting in lock(), sees `stop` when it gets the lock).
    bool stopping = false;
    if (!measuring) {
      if (box.expired()) {
        measuring = true;
        // Role 0 records every other hand-off: half the samples are its.
        box = TimeBox(ctx.duration(), 1, kMinLatencySamples / 2);
      }
    } else if (role == 0 && (box.expired(samples.size()) || samples.full())) {
      stopping = true;
      s.stop.store(1, std::memory_order_release);
    }
    s.released_ns.store(now_ns(), std::memory_order_release);
    lock.unlock();
    holding = false;
    if (stopping) return;
    while (s.turn.load(std::memory_order_acquire) != my_turn + 2) spin();
    my_turn += 2;
  }
}

}  // namespace

void mutex_handoff_rep(Context& ctx, const std::string& system, LockKind kind, bool asleep) {
  // 2 MiB (512 Ki samples) per role: 250 ms of 300 ns hand-offs is about
  // 0.8 Mi, each role recording half; a full buffer ends the repetition.
  constexpr std::size_t kPerRole = std::size_t{2} << 20;
  SharedBlock<LockShared> block(2 * kPerRole);
  LockShared& s = *block;
  with_lock(kind, s, [&](auto& lock) {
    Team team(ctx);
    for (int role = 0; role < 2; ++role) {
      team.spawn(role, [&, role] {
        SampleBuffer samples(block.extra() + static_cast<std::size_t>(role) * kPerRole, kPerRole);
        handoff_role(lock, s, role, ctx, asleep, samples);
        s.results[role].ops = samples.size();
      });
    }
    team.join();
  });
  const std::uint64_t counts[2] = {s.results[0].ops, s.results[1].ops};
  // Both roles' samples, one after the other, then the percentiles of all.
  auto* data = reinterpret_cast<std::uint32_t*>(block.extra());  // NOLINT: sample array
  std::memmove(data + counts[0], block.extra() + kPerRole, counts[1] * sizeof(std::uint32_t));
  record_latency(ctx, system, latency_figures(data, counts[0] + counts[1], 1.0));
}

}  // namespace shmkit::bench
