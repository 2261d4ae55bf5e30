#include "shmkit/sync/mutex.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/platform/spin.hpp"
#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/shared_memory.hpp"
#include "sync_test_util.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

// A plain (non-atomic) counter: only the mutex keeps its increments exact.
std::uint64_t& counter_in(const SharedMemory& memory) {
  return *reinterpret_cast<std::uint64_t*>(memory.data());  // NOLINT: test layout
}

TEST(Mutex, FourProcessesIncrementAPlainCounterToTheExactTotal) {
  constexpr int kProcs = 4;
  constexpr std::uint64_t kIters = 100'000;
  const test::ScopedName mutex_name("mtx");
  const test::ScopedName counter_name("ctr");
  Mutex mutex = Mutex::create(mutex_name);
  const SharedMemory counter = SharedMemory::create(counter_name, sizeof(std::uint64_t));
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pids.push_back(test::fork_child([&] {
      // Each child maps both objects itself, as an unrelated process would.
      Mutex m = Mutex::open(mutex_name);
      const SharedMemory c = SharedMemory::open(counter_name);
      test::require(start.receive(), "no start");
      for (std::uint64_t i = 0; i < kIters; ++i) {
        const LockGuard guard(m);
        test::require(guard.result() == LockResult::acquired, "lock() did not acquire");
        ++counter_in(c);
      }
    }));
  }
  start.send(kProcs);
  EXPECT_TRUE(test::all_exit_zero(pids));
  const LockGuard guard(mutex);
  EXPECT_EQ(guard.result(), LockResult::acquired);
  EXPECT_EQ(counter_in(counter), kProcs * kIters);
}

TEST(Mutex, FourThreadsIncrementAPlainCounterToTheExactTotal) {
  constexpr int kThreads = 4;
  const auto iters = static_cast<std::uint64_t>(test::scaled(100'000));
  const test::ScopedName mutex_name("mtx");
  const test::ScopedName counter_name("ctr");
  Mutex mutex = Mutex::create(mutex_name);  // one mapping, shared by the threads
  const SharedMemory counter = SharedMemory::create(counter_name, sizeof(std::uint64_t));
  std::atomic<int> not_acquired{0};
  test::run_threads(kThreads, [&](int) {
    for (std::uint64_t i = 0; i < iters; ++i) {
      if (mutex.lock() != LockResult::acquired) not_acquired.fetch_add(1);
      ++counter_in(counter);
      mutex.unlock();
    }
  });
  EXPECT_EQ(not_acquired.load(), 0);
  const LockGuard guard(mutex);
  EXPECT_EQ(counter_in(counter), kThreads * iters);
}

TEST(Mutex, TryLockIsBusyWhileAnotherProcessHoldsItAndAcquiredAfterRelease) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  const test::Pipe locked;
  const test::Pipe release;
  const test::Pipe unlocked;
  const pid_t holder = test::fork_child([&] {
    Mutex m = Mutex::open(name);
    test::require(m.lock() == LockResult::acquired, "child lock");
    locked.send();
    test::require(release.receive(), "never released");
    m.unlock();
    unlocked.send();
    test::require(release.receive(), "never told to exit");  // stay alive meanwhile
  });
  const test::KillOnExit holder_guard(holder);
  ASSERT_TRUE(locked.receive());
  EXPECT_TRUE(mutex.state().locked());
  EXPECT_EQ(mutex.try_lock(), LockResult::busy);
  // A live holder is never taken over, however many dead-owner checks pass.
  EXPECT_EQ(mutex.lock_for(3 * sync::kDeadOwnerCheck), LockResult::timed_out);
  EXPECT_EQ(mutex.lock_until(std::chrono::steady_clock::now() + 1ms), LockResult::timed_out);
  EXPECT_EQ(mutex.try_lock(), LockResult::busy);
  release.send();
  ASSERT_TRUE(unlocked.receive());
  EXPECT_EQ(mutex.try_lock(), LockResult::acquired);
  EXPECT_TRUE(mutex.state().locked());
  mutex.unlock();
  EXPECT_FALSE(mutex.state().locked());
  release.send();
  EXPECT_EQ(test::wait_exit_code(holder), 0);
}

TEST(Mutex, TryLockFromAnotherThreadIsBusyWhileHeld) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  ASSERT_EQ(mutex.lock(), LockResult::acquired);
  LockResult from_thread = LockResult::acquired;
  LockResult timed = LockResult::acquired;
  std::thread([&] {
    from_thread = mutex.try_lock();
    timed = mutex.lock_for(1ms);
  }).join();
  EXPECT_EQ(from_thread, LockResult::busy);
  EXPECT_EQ(timed, LockResult::timed_out);
  mutex.unlock();
  std::thread([&] {
    from_thread = mutex.try_lock();
    if (holds(from_thread)) mutex.unlock();
  }).join();
  EXPECT_EQ(from_thread, LockResult::acquired);
}

TEST(Mutex, LockForAnEnormousTimeoutWaitsForTheHolder) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  ASSERT_EQ(mutex.lock(), LockResult::acquired);
  LockResult result = LockResult::busy;
  EXPECT_TRUE(test::sleeps_then_wakes(
      [&] {
        result = mutex.lock_for(std::chrono::seconds::max());  // not a deadline in the past
        if (holds(result)) mutex.unlock();
        return result == LockResult::acquired;
      },
      [&] { return mutex.state().waiting(); }, [&] { mutex.unlock(); }));
  EXPECT_EQ(mutex.lock_for(std::chrono::milliseconds::min()), LockResult::acquired);
  std::thread([&] { result = mutex.lock_for(std::chrono::milliseconds::min()); }).join();
  EXPECT_EQ(result, LockResult::timed_out);
  mutex.unlock();
}

// A locker killed asleep stays counted as a waiter. The unlock whose wake-up
// then wakes nobody leaves no wake-up marked pending: with the mark stuck
// (nobody left to clear it) no later unlock woke its sleeper, and every
// contended hand-off took a whole check interval (18 ms instead of about
// 20 us). Such unlocks also drop the count (at most once per check interval
// per thread), after which an unlock makes no wake call.
TEST(Mutex, ALockerKilledAsleepIsDroppedAtTheNextUnlock) {
  const test::ScopedName name("mtx-dead-waiter");
  Mutex mutex = Mutex::create(name);
  // The holder is a fresh thread: a thread drops waiters at most once per
  // check interval, and this one has never done so.
  std::atomic<int> step{0};
  std::thread holder([&] {
    EXPECT_EQ(mutex.lock(), LockResult::acquired);
    step.store(1);
    while (step.load() != 2) std::this_thread::yield();
    mutex.unlock();
  });
  while (step.load() != 1) std::this_thread::yield();
  const ::testing::AssertionResult killed = test::kill_asleep(
      [&] { (void)Mutex::open(name).lock(); }, [&] { return mutex.state().waiting(); });
  const std::uint32_t left = mutex.state().waiting();
  step.store(2);
  holder.join();
  ASSERT_TRUE(killed);
  ASSERT_EQ(left, 1u);                                 // left behind
  constexpr std::uint32_t kWakePending = 0x80000000u;  // mutex_state.cpp
  EXPECT_EQ(mutex.state().wake_seq.load() & kWakePending, 0u);
  EXPECT_EQ(mutex.state().waiting(), 0u);
  const std::uint32_t quiet = mutex.state().wake_seq.load();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(mutex.lock(), LockResult::acquired);
    mutex.unlock();
  }
  EXPECT_EQ(mutex.state().wake_seq.load(), quiet);  // no wake call any more

  // The next hand-off to a sleeper: the unlock itself moves the futex word.
  ASSERT_EQ(mutex.lock(), LockResult::acquired);
  EXPECT_TRUE(test::sleeps_then_wakes(
      [&] {
        const LockResult result = mutex.lock();
        if (holds(result)) mutex.unlock();
        return result == LockResult::acquired;
      },
      [&] { return mutex.state().waiting(); },
      [&] {
        const std::uint32_t seq = mutex.state().wake_seq.load();
        mutex.unlock();
        EXPECT_NE(mutex.state().wake_seq.load(), seq);
      }));
  EXPECT_EQ(mutex.state().waiting(), 0u);
}

TEST(Mutex, LockGuardUnlocksAtScopeExit) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  {
    const LockGuard guard(mutex);
    EXPECT_EQ(guard.result(), LockResult::acquired);
    EXPECT_FALSE(guard.owner_died());
    EXPECT_TRUE(mutex.state().locked());
  }
  EXPECT_FALSE(mutex.state().locked());
  EXPECT_EQ(mutex.state().waiting(), 0u);
}

TEST(Mutex, OpenSeesTheSameLockAndRefusesAnotherKind) {
  const test::ScopedName name("mtx");
  Mutex created = Mutex::create(name);
  Mutex opened = Mutex::open(name);
  ASSERT_EQ(created.lock(), LockResult::acquired);
  EXPECT_TRUE(opened.state().locked());
  created.unlock();
  const test::ScopedName bytes("bytes");
  const SharedMemory memory = SharedMemory::create(bytes, 64);
  EXPECT_EQ(test::thrown_by([&] { Mutex::open(bytes); }).code, make_error_code(Errc::wrong_kind));
  EXPECT_TRUE(Mutex::remove(name));
}

// Hand-over-hand over three mutexes: each process holds two, unlocks the older
// and locks the next, which the other process holds. Every step blocks until
// the other process unlocks, so every step is an unlock waking a waiter.
void hand_over_hand(Mutex* m, int first_older, int first_newer, int steps) {
  int older = first_older;
  int newer = first_newer;
  for (int s = 0; s < steps; ++s) {
    m[older].unlock();
    const int next = (newer + 1) % 3;
    test::require(m[next].lock_for(test::kGenerous) == LockResult::acquired,
                  "step " + std::to_string(s) + ": lock was not handed over");
    older = newer;
    newer = next;
  }
  m[older].unlock();
  m[newer].unlock();
}

TEST(Mutex, UnlockWakesTheWaiterInEveryRoundOfPingPongBetweenProcesses) {
  const int steps = 2000;
  const test::ScopedName n0("m0");
  const test::ScopedName n1("m1");
  const test::ScopedName n2("m2");
  Mutex m[3] = {Mutex::create(n0), Mutex::create(n1), Mutex::create(n2)};
  ASSERT_EQ(m[0].lock(), LockResult::acquired);
  ASSERT_EQ(m[1].lock(), LockResult::acquired);
  const test::Pipe ready;
  const pid_t other = test::fork_child([&] {
    Mutex mine[3] = {Mutex::open(n0), Mutex::open(n1), Mutex::open(n2)};
    test::require(mine[2].lock() == LockResult::acquired, "m2");
    ready.send();
    // Holds {2}; its first step is to lock 0, after which it holds {2, 0}.
    test::require(mine[0].lock_for(test::kGenerous) == LockResult::acquired, "m0");
    hand_over_hand(mine, 2, 0, steps);
  });
  ASSERT_TRUE(ready.receive());
  EXPECT_NO_THROW(hand_over_hand(m, 0, 1, steps));
  EXPECT_EQ(test::wait_exit_code(other), 0);
  for (auto& mutex : m) {
    EXPECT_FALSE(mutex.state().locked());
    EXPECT_EQ(mutex.state().waiting(), 0u);
  }
}

// The state a crash test protects: the invariant is a == b.
struct Protected {
  std::uint64_t a;
  std::uint64_t b;
  std::uint64_t broken_seen;   // trials whose waiter found a != b
  std::uint32_t first_result;  // the waiter's LockResult, for diagnostics
};

void write(std::uint64_t& field, std::uint64_t v) {
  std::atomic_ref<std::uint64_t>(field).store(v, std::memory_order_relaxed);
}
std::uint64_t read(std::uint64_t& field) {
  return std::atomic_ref<std::uint64_t>(field).load(std::memory_order_relaxed);
}

TEST(Mutex, AWaiterRecoversTheLockFromAHolderKilledInItsCriticalSection) {
  constexpr int kTrials = 100;
  const test::ScopedName mutex_name("mtx");
  const test::ScopedName data_name("data");
  Mutex mutex = Mutex::create(mutex_name);
  const test::SharedStruct<Protected> shared(data_name);
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> delay_us(0, 300);
  for (int trial = 0; trial < kTrials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const test::Pipe locked;
    const test::Pipe entering;
    const pid_t holder = test::fork_child([&] {
      Mutex m = Mutex::open(mutex_name);
      test::require(holds(m.lock()), "holder lock");
      locked.send();
      // The critical section: a, then some work, then b. Killed anywhere in it.
      for (std::uint64_t i = read(shared->a) + 1;; ++i) {
        write(shared->a, i);
        for (int k = 0; k < 50; ++k) platform::cpu_relax();
        write(shared->b, i);
      }
    });
    const test::KillOnExit holder_guard(holder);
    ASSERT_TRUE(locked.receive());
    const pid_t waiter = test::fork_child([&] {
      Mutex m = Mutex::open(mutex_name);
      entering.send();
      const LockResult first = m.lock_for(test::kGenerous);
      shared->first_result = static_cast<std::uint32_t>(first);
      test::require(first == LockResult::owner_died, "first lock_for did not report owner_died");
      if (read(shared->a) != read(shared->b)) {
        ++shared->broken_seen;
        write(shared->b, read(shared->a));  // the repair
      }
      m.unlock();
      const LockResult second = m.lock_for(test::kGenerous);
      test::require(second == LockResult::acquired, "the lock after the repair did not acquire");
      test::require(read(shared->a) == read(shared->b), "invariant not repaired");
      m.unlock();
    });
    const test::KillOnExit waiter_guard(waiter);
    ASSERT_TRUE(entering.receive());
    // Even trials: the waiter is past its spin, waiting. Odd trials: it is
    // asleep in FUTEX_WAIT, so only its bounded sleep can notice the death.
    const std::vector<pid_t> sleeping =
        trial % 2 == 1 ? std::vector<pid_t>{waiter} : std::vector<pid_t>{};
    ASSERT_TRUE(test::wait_until_asleep([&] { return mutex.state().waiting(); }, 1, sleeping));
    // A random moment of the holder's critical section (fault injection).
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(random)));
    ASSERT_EQ(::kill(holder, SIGKILL), 0);
    EXPECT_EQ(test::wait_exit_code(holder), test::kKilled);
    ASSERT_EQ(test::wait_exit_code(waiter), 0)
        << "waiter's first LockResult " << shared->first_result;
    // The mutex is free and usable again, and the invariant holds.
    ASSERT_EQ(mutex.try_lock(), LockResult::acquired);
    EXPECT_EQ(shared->a, shared->b);
    mutex.unlock();
  }
  EXPECT_EQ(mutex.state().waiting(), 0u);
  // The holder spends most of each pass between the writes: most kills leave
  // the invariant broken, and each was repaired above.
  EXPECT_GT(shared->broken_seen, 0u);
  RecordProperty("broken_invariants_repaired", std::to_string(shared->broken_seen));
}

TEST(Mutex, AThreadThatExitsHoldingItIsTreatedAsDead) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  LockResult in_thread = LockResult::busy;
  std::thread([&] { in_thread = mutex.lock(); }).join();  // exits without unlock
  ASSERT_EQ(in_thread, LockResult::acquired);
  EXPECT_EQ(mutex.lock_for(test::kGenerous), LockResult::owner_died);
  mutex.unlock();
  EXPECT_EQ(mutex.try_lock(), LockResult::acquired);
  mutex.unlock();
}

TEST(Mutex, AnOwnerWordWithALiveIdButAnotherStartTimeIsADeadOwner) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  const test::ParkedChild live;
  const std::optional<ProcessIdentity> id = ProcessIdentity::of(live.pid());
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(is_alive(*id));
  auto& owner = mutex.state().owner;

  // The live process itself holds it: never taken over.
  owner.store(id->pack());
  EXPECT_EQ(mutex.try_lock(), LockResult::busy);
  EXPECT_EQ(mutex.lock_for(3 * sync::kDeadOwnerCheck), LockResult::timed_out);

  // Same pid, another start time: the pid was reused, the recorded owner died.
  const ProcessIdentity reused{id->pid, id->start_ticks + 1};
  owner.store(reused.pack());
  EXPECT_EQ(mutex.try_lock(), LockResult::owner_died);
  mutex.unlock();
  owner.store(reused.pack());
  EXPECT_EQ(mutex.lock_for(test::kGenerous), LockResult::owner_died);  // via the sleep path
  mutex.unlock();

  // Our own live thread id with an earlier start time: dead too.
  const ProcessIdentity me = ProcessIdentity::unpack(platform::this_thread_word());
  ASSERT_EQ(me.pid, platform::current_tid());
  ASSERT_GT(me.start_ticks, 0u);
  owner.store(ProcessIdentity{me.pid, me.start_ticks - 1}.pack());
  EXPECT_EQ(mutex.lock_for(test::kGenerous), LockResult::owner_died);
  mutex.unlock();
  EXPECT_FALSE(mutex.state().locked());
  live.release();
  EXPECT_EQ(test::wait_exit_code(live.pid()), 0);
}

// Forks a child that locks mutex NAME and holds it until `release` gets a
// byte; returns its pid once it holds the lock, or -1 (reaped) if it never did.
pid_t hold_in_child(std::string_view name, const test::Pipe& release) {
  const test::Pipe locked;
  const pid_t holder = test::fork_child([&] {
    Mutex m = Mutex::open(name);
    test::require(m.lock() == LockResult::acquired, "child lock");
    locked.send();
    test::require(release.receive(), "never released");
    m.unlock();
  });
  if (locked.receive()) return holder;
  ::kill(holder, SIGKILL);
  test::wait_exit_code(holder);
  return -1;
}

TEST(Mutex, LockForTimesOutWhileAnotherProcessHoldsIt) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  const test::Pipe release;
  const pid_t holder = hold_in_child(name, release);
  ASSERT_NE(holder, -1);  // before the guard: kill(-1) would signal every process
  const test::KillOnExit holder_guard(holder);
  EXPECT_EQ(mutex.lock_for(10ms), LockResult::timed_out);
  EXPECT_EQ(mutex.lock_for(0ms), LockResult::timed_out);
  EXPECT_EQ(mutex.state().waiting(), 0u);
  release.send();
  EXPECT_EQ(test::wait_exit_code(holder), 0);
  EXPECT_EQ(mutex.lock_for(test::kGenerous), LockResult::acquired);
  mutex.unlock();
}

// A locker that cannot read the holder's /proc entry (it is out of file
// descriptors) must not take the holder for dead: that would give a live
// holder's lock to a second thread.
TEST(Mutex, ALockerOutOfDescriptorsDoesNotTakeALiveHoldersLock) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  ASSERT_EQ(mutex.lock(), LockResult::acquired);  // this thread's identity is read now
  mutex.unlock();
  const test::Pipe release;
  const pid_t holder = hold_in_child(name, release);
  ASSERT_NE(holder, -1);  // before the guard: kill(-1) would signal every process
  const test::KillOnExit holder_guard(holder);
  {
    const test::NoFreeDescriptors none;
    EXPECT_EQ(mutex.lock_for(50ms), LockResult::timed_out);
    EXPECT_EQ(mutex.try_lock(), LockResult::busy);
  }
  release.send();
  EXPECT_EQ(test::wait_exit_code(holder), 0);
  EXPECT_EQ(mutex.lock_for(test::kGenerous), LockResult::acquired);
  mutex.unlock();
}

// A thread's first lock reads its identity from /proc; when it cannot, lock()
// throws the errno (it used to be noexcept, and the process terminated).
TEST(Mutex, AThreadsFirstLockThrowsWhenItCannotReadItsIdentity) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  test::Thrown thrown;
  std::thread first([&] {
    thrown = test::thrown_by([&] {
      const test::NoFreeDescriptors none;
      (void)mutex.lock();
    });
  });
  first.join();
  EXPECT_EQ(thrown.code, std::errc::too_many_files_open) << thrown.message;
  EXPECT_NE(thrown.message.find("the calling thread"), std::string::npos) << thrown.message;
  EXPECT_FALSE(mutex.state().locked());
}

// unlock_unrepaired(): the next locker is told owner_died at once, whether it
// was asleep waiting or comes later, and only that one.
TEST(Mutex, UnlockUnrepairedMakesTheNextLockerRepair) {
  const test::ScopedName name("mtx");
  Mutex mutex = Mutex::create(name);
  ASSERT_EQ(mutex.lock(), LockResult::acquired);
  mutex.state().unlock_unrepaired();
  EXPECT_EQ(mutex.try_lock(), LockResult::owner_died);
  mutex.unlock();
  EXPECT_EQ(mutex.try_lock(), LockResult::acquired);

  // A waiter asleep in another process is handed the lock by the release.
  const test::Pipe waiting;
  const pid_t waiter = test::fork_child([&] {
    Mutex m = Mutex::open(name);
    waiting.send();
    test::require(m.lock() == LockResult::owner_died, "waiter told owner_died");
    m.unlock();
  });
  const test::KillOnExit waiter_guard(waiter);
  ASSERT_TRUE(waiting.receive());
  ASSERT_TRUE(test::eventually([&] { return mutex.state().waiting() == 1; }));
  mutex.state().unlock_unrepaired();
  EXPECT_EQ(test::wait_exit_code(waiter), 0);
  EXPECT_EQ(mutex.lock(), LockResult::acquired);
  mutex.unlock();
}

}  // namespace
}  // namespace shmkit
