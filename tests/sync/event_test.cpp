#include "shmkit/sync/event.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/sync/mutex.hpp"
#include "sync_test_util.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

TEST(Event, StartsClearAndFollowsSetAndClear) {
  const test::ScopedName name("ev");
  Event event = Event::create(name);
  EXPECT_FALSE(event.is_set());
  event.set();
  EXPECT_TRUE(event.is_set());
  event.set();  // setting a set event changes nothing
  EXPECT_TRUE(event.is_set());
  EXPECT_TRUE(event.wait_for(0ms));
  EXPECT_TRUE(event.wait_for(test::kGenerous));
  event.wait();  // returns at once while set
  const Event opened = Event::open(name);
  EXPECT_TRUE(opened.is_set());
  event.clear();
  EXPECT_FALSE(event.is_set());
  EXPECT_FALSE(opened.is_set());
  event.clear();
  EXPECT_FALSE(event.is_set());
}

TEST(Event, WaitForTimesOutWhileClear) {
  const test::ScopedName name("ev");
  Event event = Event::create(name);
  EXPECT_FALSE(event.wait_for(10ms));
  EXPECT_FALSE(event.wait_for(0ms));
  EXPECT_EQ(event.state().waiting(), 0u);
}

// A timeout too long for the clock's nanoseconds means "forever", never a
// deadline wrapped into the past.
TEST(Event, WaitForAnEnormousTimeoutWaitsUntilSet) {
  const test::ScopedName name("ev");
  Event event = Event::create(name);
  const pid_t me = platform::current_tid();
  std::thread setter([&] {
    test::wait_until_asleep([&] { return event.state().waiting(); }, 1, {me});
    event.set();
  });
  EXPECT_TRUE(event.wait_for(std::chrono::seconds::max()));
  setter.join();
  EXPECT_TRUE(event.wait_for(std::chrono::hours::max()));
  EXPECT_TRUE(event.wait_for(std::chrono::duration<double>(1e300)));
  event.clear();
  EXPECT_FALSE(event.wait_for(std::chrono::seconds::min()));
  EXPECT_FALSE(event.wait_for(-1ms));
}

// A waiter killed asleep stays counted, and every set would make a wake-up
// call for it. The first set that wakes nobody drops the count; a waiter
// that sleeps afterwards is counted and woken as before.
TEST(Event, AWaiterKilledAsleepIsDroppedByTheNextSet) {
  const test::ScopedName name("ev-dead-waiter");
  Event event = Event::create(name);
  ASSERT_TRUE(test::kill_asleep([&] { Event::open(name).wait(); },
                                [&] { return event.state().waiting(); }));
  ASSERT_EQ(event.state().waiting(), 1u);  // left behind
  event.set();
  EXPECT_EQ(event.state().waiting(), 0u);

  event.clear();
  EXPECT_TRUE(test::sleeps_then_wakes([&] { return event.wait_for(test::kGenerous); },
                                      [&] { return event.state().waiting(); },
                                      [&] { event.set(); }));
  EXPECT_EQ(event.state().waiting(), 0u);
}

// A waiter on its way to sleep when a set() wakes nobody is dropped with
// the dead. It may have looked at the flag after that set and a clear, so
// the set must move the futex word again after the drop, or the waiter
// would sleep uncounted and miss the next set. The move flips the drop
// parity, which no waiter takes for a set.
TEST(Event, ASetThatDropsTheWaitersMovesTheFlagAgainWithoutCountingASet) {
  sync::EventState state{};
  const std::uint32_t joined = sync::SyncWaiters::join(state.waiters);  // not asleep yet
  state.set();
  EXPECT_EQ(state.waiting(), 0u);
  EXPECT_TRUE(sync::SyncWaiters::dropped(state.waiters, joined));
  const std::uint32_t flag = state.flag.load();
  EXPECT_EQ(flag & sync::kEventDropped, sync::kEventDropped);
  EXPECT_EQ((flag & sync::kEventSetCount) >> 1, 1u);  // one set
  EXPECT_TRUE(state.is_set());
  state.clear();
  EXPECT_FALSE(state.is_set());
  EXPECT_EQ(state.flag.load() & sync::kEventDropped, sync::kEventDropped);  // kept by clear
  state.set();  // nobody counted: no drop, the parity stays
  EXPECT_EQ(state.flag.load() & sync::kEventDropped, sync::kEventDropped);
  EXPECT_EQ((state.flag.load() & sync::kEventSetCount) >> 1, 2u);
}

TEST(Event, OpenRefusesAnotherKind) {
  const test::ScopedName name("mtx");
  const Mutex mutex = Mutex::create(name);
  EXPECT_EQ(test::thrown_by([&] { Event::open(name); }).code, make_error_code(Errc::wrong_kind));
  const test::ScopedName absent("ev");
  EXPECT_EQ(test::thrown_by([&] { Event::open(absent); }).code, make_error_code(Errc::not_found));
}

TEST(Event, SetWakesEveryOneOfFourProcessesAsleepInWait) {
  constexpr int kWaiters = 4;
  const test::ScopedName name("ev");
  Event event = Event::create(name);
  std::vector<pid_t> pids;
  for (int p = 0; p < kWaiters; ++p) {
    pids.push_back(test::fork_child([&] {
      Event e = Event::open(name);
      test::require(e.wait_for(test::kGenerous), "not woken");
    }));
  }
  ASSERT_TRUE(test::wait_until_asleep([&] { return event.state().waiting(); }, kWaiters, pids));
  event.set();
  EXPECT_TRUE(test::all_exit_zero(pids));
  EXPECT_EQ(event.state().waiting(), 0u);
}

// set() wakes every waiter, even when clear() follows at once: a waiter that
// was waiting when set() was called returns true (Python's Event does too).
TEST(Event, SetThenClearStillReleasesEveryProcessThatWasWaiting) {
  constexpr int kWaiters = 3;
  const test::ScopedName name("ev");
  Event event = Event::create(name);
  std::vector<pid_t> pids;
  for (int p = 0; p < kWaiters; ++p) {
    pids.push_back(test::fork_child([&] {
      Event e = Event::open(name);
      test::require(e.wait_for(test::kGenerous), "a set() followed by clear() was missed");
    }));
  }
  ASSERT_TRUE(test::wait_until_asleep([&] { return event.state().waiting(); }, kWaiters, pids));
  event.set();
  event.clear();
  EXPECT_TRUE(test::all_exit_zero(pids));
  EXPECT_FALSE(event.is_set());
}

// Ping-pong: each side sets the other's event and waits for its own, which it
// clears before answering. A lost wake-up fails a wait_for, not just slows it.
void ping_pong(Event& mine, Event& theirs, int rounds, bool serve) {
  for (int r = 0; r < rounds; ++r) {
    if (serve) theirs.set();
    test::require(mine.wait_for(test::kGenerous), "round " + std::to_string(r) + ": lost wake-up");
    mine.clear();
    if (!serve) theirs.set();
  }
}

TEST(Event, PingPongBetweenTwoProcessesLosesNoWakeUp) {
  const int rounds = 2000;
  const test::ScopedName ping_name("ping");
  const test::ScopedName pong_name("pong");
  Event ping = Event::create(ping_name);
  Event pong = Event::create(pong_name);
  const pid_t child = test::fork_child([&] {
    Event my_ping = Event::open(ping_name);
    Event my_pong = Event::open(pong_name);
    ping_pong(my_ping, my_pong, rounds, false);
  });
  EXPECT_NO_THROW(ping_pong(pong, ping, rounds, true));
  EXPECT_EQ(test::wait_exit_code(child), 0);
  EXPECT_FALSE(ping.is_set());
  EXPECT_FALSE(pong.is_set());
}

TEST(Event, PingPongBetweenTwoThreadsLosesNoWakeUp) {
  const int rounds = test::scaled(2000);
  const test::ScopedName ping_name("ping");
  const test::ScopedName pong_name("pong");
  Event ping = Event::create(ping_name);
  Event pong = Event::create(pong_name);
  std::atomic<int> failures{0};
  test::run_threads(2, [&](int t) {
    try {
      if (t == 0) {
        ping_pong(pong, ping, rounds, true);
      } else {
        ping_pong(ping, pong, rounds, false);
      }
    } catch (const std::exception&) {
      failures.fetch_add(1);
    }
  });
  EXPECT_EQ(failures.load(), 0);
}

TEST(Event, SetWakesEveryThreadAsleepInWaitAndPublishesWhatTheSetterWrote) {
  constexpr int kThreads = 4;
  const test::ScopedName name("ev");
  Event event = Event::create(name);
  int payload = 0;  // plain: set() publishes it (release), wait() reads it (acquire)
  std::atomic<int> saw_payload{0};
  std::vector<std::atomic<pid_t>> tids(kThreads);
  std::thread setter([&] {
    std::vector<pid_t> ids;
    for (auto& t : tids) {
      while (t.load() == 0) std::this_thread::yield();
      ids.push_back(t.load());
    }
    test::wait_until_asleep([&] { return event.state().waiting(); }, kThreads, ids);
    payload = 42;
    event.set();
  });
  test::run_threads(kThreads, [&](int i) {
    tids[static_cast<std::size_t>(i)].store(platform::current_tid());
    if (event.wait_for(test::kGenerous) && payload == 42) saw_payload.fetch_add(1);
  });
  setter.join();
  EXPECT_EQ(saw_payload.load(), kThreads);
}

}  // namespace
}  // namespace shmkit
