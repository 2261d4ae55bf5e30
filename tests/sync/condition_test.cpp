#include "shmkit/sync/condition.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/platform/thread_identity.hpp"
#include "sync_test_util.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using sync::WaitResult;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

// True if the calling thread holds the condition's mutex.
bool held_by_me(const Condition& cond) {
  return cond.state().mutex.owner.load() == platform::this_thread_word();
}

TEST(Condition, WaitForTimesOutWithTheMutexHeld) {
  const test::ScopedName name("cv");
  Condition cond = Condition::create(name);
  ASSERT_EQ(cond.lock(), LockResult::acquired);
  EXPECT_EQ(cond.wait_for(10ms), WaitResult::timed_out);
  EXPECT_TRUE(held_by_me(cond));
  EXPECT_EQ(cond.wait_for(0ms), WaitResult::timed_out);
  EXPECT_TRUE(held_by_me(cond));
  LockResult other = LockResult::acquired;
  std::thread([&] { other = cond.try_lock(); }).join();
  EXPECT_EQ(other, LockResult::busy);
  cond.unlock();
  EXPECT_FALSE(cond.state().mutex.locked());
  EXPECT_EQ(cond.state().condition.waiting(), 0u);
}

TEST(Condition, WaitReleasesTheMutexWhileItWaits) {
  const test::ScopedName name("cv");
  Condition cond = Condition::create(name);
  ASSERT_EQ(cond.lock(), LockResult::acquired);
  std::atomic<bool> done{false};
  LockResult other = LockResult::busy;
  std::thread notifier([&] {
    other = cond.lock_for(test::kGenerous);  // only possible while the main thread waits
    if (holds(other)) {
      done.store(true);
      cond.notify_one();
      cond.unlock();
    }
  });
  WaitResult result = WaitResult::notified;
  while (!done.load() && result != WaitResult::timed_out) result = cond.wait_for(test::kGenerous);
  EXPECT_TRUE(done.load());
  EXPECT_TRUE(held_by_me(cond));
  cond.unlock();
  notifier.join();
  EXPECT_EQ(other, LockResult::acquired);
}

TEST(Condition, OpenRefusesAnotherKind) {
  const test::ScopedName name("sem");
  const SharedMemory bytes = SharedMemory::create(name, 24);
  EXPECT_EQ(test::thrown_by([&] { Condition::open(name); }).code,
            make_error_code(Errc::wrong_kind));
}

// A one-slot mailbox under the condition's mutex; producers wait while it is
// full, consumers while it is empty, so both wait on one condition and every
// change is announced with notify_all.
struct Mailbox {
  std::uint64_t full;
  std::uint64_t value;
  std::uint64_t consumed_sum[2];
  std::uint64_t consumed_count[2];
};

void put_all(Condition& cond, Mailbox& box, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t v = first; v < first + count; ++v) {
    test::require(holds(cond.lock()), "lock");
    while (box.full != 0) {
      test::require(cond.wait_for(test::kGenerous) == WaitResult::notified, "producer not woken");
    }
    box.value = v;
    box.full = 1;
    cond.notify_all();
    cond.unlock();
  }
}

void take_all(Condition& cond, Mailbox& box, int who, std::uint64_t count) {
  std::uint64_t sum = 0;
  for (std::uint64_t n = 0; n < count; ++n) {
    test::require(holds(cond.lock()), "lock");
    while (box.full == 0) {
      test::require(cond.wait_for(test::kGenerous) == WaitResult::notified, "consumer not woken");
    }
    sum += box.value;
    box.full = 0;
    cond.notify_all();
    cond.unlock();
  }
  box.consumed_sum[who] = sum;
  box.consumed_count[who] = count;
}

TEST(Condition, ProducersAndConsumersInFourProcessesPassEveryValueThroughAMailbox) {
  constexpr std::uint64_t kPerProducer = 5000;
  constexpr std::uint64_t kTotal = 2 * kPerProducer;
  const test::ScopedName cond_name("cv");
  const test::ScopedName box_name("box");
  Condition cond = Condition::create(cond_name);
  const test::SharedStruct<Mailbox> box(box_name);
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (int p = 0; p < 2; ++p) {
    pids.push_back(test::fork_child([&, p] {
      Condition c = Condition::open(cond_name);
      test::require(start.receive(), "no start");
      put_all(c, *box, static_cast<std::uint64_t>(p) * kPerProducer, kPerProducer);
    }));
    pids.push_back(test::fork_child([&, p] {
      Condition c = Condition::open(cond_name);
      test::require(start.receive(), "no start");
      take_all(c, *box, p, kPerProducer);
    }));
  }
  start.send(pids.size());
  ASSERT_TRUE(test::all_exit_zero(pids));
  EXPECT_EQ(box->consumed_count[0] + box->consumed_count[1], kTotal);
  EXPECT_EQ(box->consumed_sum[0] + box->consumed_sum[1], kTotal * (kTotal - 1) / 2);
  EXPECT_EQ(box->full, 0u);
}

TEST(Condition, ProducersAndConsumersOnThreadsOfOneMappingPassEveryValue) {
  const auto per_producer = static_cast<std::uint64_t>(test::scaled(5000));
  const std::uint64_t total = 2 * per_producer;
  const test::ScopedName cond_name("cv");
  Condition cond = Condition::create(cond_name);
  Mailbox box{};
  std::atomic<int> failures{0};
  test::run_threads(4, [&](int t) {
    try {
      if (t % 2 == 0) {
        put_all(cond, box, static_cast<std::uint64_t>(t / 2) * per_producer, per_producer);
      } else {
        take_all(cond, box, t / 2, per_producer);
      }
    } catch (const std::exception&) {
      failures.fetch_add(1);
    }
  });
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(box.consumed_count[0] + box.consumed_count[1], total);
  EXPECT_EQ(box.consumed_sum[0] + box.consumed_sum[1], total * (total - 1) / 2);
}

// Strict alternation on a shared turn counter with notify_one: only the other
// side can be waiting, so each notify_one must wake it. A lost wake-up fails a
// wait_for instead of slowing the test down.
void alternate(Condition& cond, std::uint64_t& turn, std::uint64_t parity, std::uint64_t rounds) {
  for (std::uint64_t r = 0; r < rounds; ++r) {
    test::require(holds(cond.lock()), "lock");
    while (turn % 2 != parity) {
      test::require(cond.wait_for(test::kGenerous) == WaitResult::notified,
                    "round " + std::to_string(r) + ": lost wake-up");
    }
    ++turn;
    cond.notify_one();
    cond.unlock();
  }
}

TEST(Condition, NotifyOneAlternationBetweenTwoProcessesLosesNoWakeUp) {
  constexpr std::uint64_t kRounds = 2000;
  const test::ScopedName cond_name("cv");
  const test::ScopedName turn_name("turn");
  Condition cond = Condition::create(cond_name);
  const test::SharedStruct<std::uint64_t> turn(turn_name);
  const pid_t child = test::fork_child([&] {
    Condition c = Condition::open(cond_name);
    alternate(c, *turn, 1, kRounds);
  });
  EXPECT_NO_THROW(alternate(cond, *turn, 0, kRounds));
  EXPECT_EQ(test::wait_exit_code(child), 0);
  EXPECT_EQ(*turn, 2 * kRounds);
}

TEST(Condition, NotifyOneAlternationBetweenTwoThreadsLosesNoWakeUp) {
  const auto rounds = static_cast<std::uint64_t>(test::scaled(2000));
  const test::ScopedName cond_name("cv");
  Condition cond = Condition::create(cond_name);
  std::uint64_t turn = 0;
  std::atomic<int> failures{0};
  test::run_threads(2, [&](int t) {
    try {
      alternate(cond, turn, static_cast<std::uint64_t>(t), rounds);
    } catch (const std::exception&) {
      failures.fetch_add(1);
    }
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(turn, 2 * rounds);
}

// Tokens under the mutex: each waiter takes one. `go` says the test started.
struct Tokens {
  std::uint64_t available;
  std::uint64_t taken;
};

TEST(Condition, NotifyOneWakesOneOfThreeProcessesAsleepForEachToken) {
  constexpr int kWaiters = 3;
  const test::ScopedName cond_name("cv");
  const test::ScopedName tokens_name("tok");
  Condition cond = Condition::create(cond_name);
  const test::SharedStruct<Tokens> tokens(tokens_name);
  const test::Pipe took;
  std::vector<pid_t> pids;
  for (int p = 0; p < kWaiters; ++p) {
    pids.push_back(test::fork_child([&] {
      Condition c = Condition::open(cond_name);
      test::require(holds(c.lock()), "lock");
      while (tokens->available == 0) {
        test::require(c.wait_for(test::kGenerous) == WaitResult::notified, "not woken");
      }
      --tokens->available;
      ++tokens->taken;
      c.unlock();
      took.send();
    }));
  }
  ASSERT_TRUE(
      test::wait_until_asleep([&] { return cond.state().condition.waiting(); }, kWaiters, pids));
  for (int k = 1; k <= kWaiters; ++k) {
    ASSERT_EQ(cond.lock(), LockResult::acquired);
    ++tokens->available;
    cond.notify_one();
    cond.unlock();
    ASSERT_TRUE(took.receive());
    ASSERT_EQ(cond.lock(), LockResult::acquired);
    EXPECT_EQ(tokens->taken, static_cast<std::uint64_t>(k));
    EXPECT_EQ(tokens->available, 0u);
    cond.unlock();
  }
  EXPECT_TRUE(test::all_exit_zero(pids));
}

TEST(Condition, NotifyAllWakesEveryOneOfFourProcessesAsleepInWait) {
  constexpr int kWaiters = 4;
  const test::ScopedName cond_name("cv");
  const test::ScopedName go_name("go");
  Condition cond = Condition::create(cond_name);
  const test::SharedStruct<std::uint64_t> go(go_name);
  std::vector<pid_t> pids;
  for (int p = 0; p < kWaiters; ++p) {
    pids.push_back(test::fork_child([&] {
      Condition c = Condition::open(cond_name);
      test::require(holds(c.lock()), "lock");
      while (*go == 0) {
        test::require(c.wait_for(test::kGenerous) == WaitResult::notified, "not woken");
      }
      c.unlock();
    }));
  }
  ASSERT_TRUE(
      test::wait_until_asleep([&] { return cond.state().condition.waiting(); }, kWaiters, pids));
  ASSERT_EQ(cond.lock(), LockResult::acquired);
  *go = 1;
  cond.notify_all();
  cond.unlock();
  EXPECT_TRUE(test::all_exit_zero(pids));
}

TEST(Condition, NotifyAllWakesEveryThreadAsleepInWait) {
  constexpr int kThreads = 4;
  const test::ScopedName cond_name("cv");
  Condition cond = Condition::create(cond_name);
  bool go = false;  // under the condition's mutex
  std::atomic<int> woken{0};
  test::run_threads(kThreads + 1, [&](int t) {
    if (t == kThreads) {
      // The notifier: once every waiter is inside wait (it counted itself
      // under the mutex), set the predicate and wake them all.
      test::eventually([&] { return cond.state().condition.waiting() == kThreads; });
      if (holds(cond.lock())) {
        go = true;
        cond.notify_all();
        cond.unlock();
      }
      return;
    }
    if (!holds(cond.lock())) return;
    bool ok = true;
    while (!go && ok) ok = cond.wait_for(test::kGenerous) == WaitResult::notified;
    if (ok) woken.fetch_add(1);
    cond.unlock();
  });
  EXPECT_EQ(woken.load(), kThreads);
}

// A waiter killed asleep stays counted, and every notify would make a
// wake-up call for it. The first notify that wakes nobody drops the count
// (a fresh thread here: a thread drops at most once per check interval);
// a waiter that sleeps afterwards is counted and woken as before.
TEST(Condition, AWaiterKilledAsleepIsDroppedByTheNextNotify) {
  const test::ScopedName name("cv-dead-waiter");
  Condition cond = Condition::create(name);
  ASSERT_TRUE(test::kill_asleep(
      [&] {
        Condition c = Condition::open(name);
        test::require(holds(c.lock()), "lock");
        (void)c.wait();
      },
      [&] { return cond.state().condition.waiting(); }));
  ASSERT_EQ(cond.state().condition.waiting(), 1u);  // left behind
  std::thread([&] { cond.notify_one(); }).join();
  EXPECT_EQ(cond.state().condition.waiting(), 0u);

  EXPECT_TRUE(test::sleeps_then_wakes(
      [&] {
        if (cond.lock() != LockResult::acquired) return false;
        const WaitResult result = cond.wait_for(test::kGenerous);
        cond.unlock();
        return result == WaitResult::notified;
      },
      [&] { return cond.state().condition.waiting(); }, [&] { cond.notify_one(); }));
  EXPECT_EQ(cond.state().condition.waiting(), 0u);
}

TEST(Condition, TheRelockAfterAWaitReportsANotifierThatDiedHoldingTheMutex) {
  const test::ScopedName cond_name("cv");
  const test::ScopedName flag_name("flag");
  Condition cond = Condition::create(cond_name);
  const test::SharedStruct<std::uint64_t> notified(flag_name);
  const pid_t waiter = test::fork_child([&] {
    Condition c = Condition::open(cond_name);
    test::require(holds(c.lock()), "lock");
    WaitResult r = WaitResult::notified;
    while (*notified == 0 && r == WaitResult::notified) r = c.wait_for(test::kGenerous);
    test::require(r == WaitResult::owner_died, "the relock did not report owner_died");
    *notified = 2;  // the repair
    c.unlock();
  });
  const test::KillOnExit waiter_guard(waiter);
  ASSERT_TRUE(
      test::wait_until_asleep([&] { return cond.state().condition.waiting(); }, 1, {waiter}));
  const test::Pipe holding;
  const pid_t notifier = test::fork_child([&] {
    Condition c = Condition::open(cond_name);
    test::require(holds(c.lock()), "lock");
    *notified = 1;
    c.notify_one();
    holding.send();
    for (;;) ::pause();  // dies holding the mutex
  });
  const test::KillOnExit notifier_guard(notifier);
  ASSERT_TRUE(holding.receive());
  ASSERT_EQ(::kill(notifier, SIGKILL), 0);
  EXPECT_EQ(test::wait_exit_code(notifier), 128 + SIGKILL);
  EXPECT_EQ(test::wait_exit_code(waiter), 0);
  ASSERT_EQ(cond.lock(), LockResult::acquired);
  EXPECT_EQ(*notified, 2u);
  cond.unlock();
}

}  // namespace
}  // namespace shmkit
