// Crash robustness of List<T>: a writer SIGKILLed at a random moment of an
// append (in a bounded loop of trials) leaves readers unblocked and every
// published item whole, and the next writer carries on; a reader killed
// anywhere affects nobody.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "list_test_util.hpp"
#include "shmkit/detail/list_layout.hpp"
#include "shmkit/list.hpp"
#include "shmkit/platform/spin.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::check_in_child;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

constexpr std::uint32_t kVictim = 0;    // the writer that is killed
constexpr std::uint32_t kSurvivor = 1;  // a writer that runs through the kill
constexpr std::uint32_t kAfter = 2;     // the parent, appending after the kill
constexpr std::uint32_t kIds = 3;
constexpr std::size_t kMaxFiller = 3000;  // big items: chunks grow often

// The list's shared head, for the checks that look at the lock itself.
detail::ListHead& head_of(const List<std::string>& list) {
  return *reinterpret_cast<detail::ListHead*>(list.segment().data().data());  // NOLINT: layout
}

// Per-writer state of a reader going through the list: every item whole and
// each writer's sequence numbers consecutive from 0.
struct Tally {
  std::array<std::uint32_t, kIds> next{};
  std::uint64_t items = 0;
  std::string error;
  bool add(std::string_view item, std::uint64_t i) {
    std::uint32_t w = 0;
    std::uint32_t s = 0;
    if (!test::parse_tagged_string(item, w, s, kMaxFiller)) {
      error = "item " + std::to_string(i) + " is torn or garbage";
    } else if (w >= kIds || s != next[w]) {
      error = "item " + std::to_string(i) + " is out of order";
    } else {
      ++next[w];
      ++items;
      return true;
    }
    return false;
  }
};

// Appends writer w's items from `first` on, forever or until `count`, in
// single appends and extend() batches.
void write_items(List<std::string>& list, std::uint32_t w, std::uint32_t first, std::uint32_t count,
                 const test::Pipe* started) {
  std::uint32_t s = first;
  bool told = false;
  while (count == 0 || s < first + count) {
    if (s % 5 == 4) {
      std::vector<std::string> batch;
      const std::uint32_t n = count == 0 ? 3 : std::min<std::uint32_t>(3, first + count - s);
      for (std::uint32_t j = 0; j < n; ++j)
        batch.push_back(test::tagged_string(w, s + j, kMaxFiller));
      list.extend(batch);
      s += n;
    } else {
      list.append(test::tagged_string(w, s, kMaxFiller));
      ++s;
    }
    if (started != nullptr && !told) {
      started->send();
      told = true;
    }
  }
}

TEST(ListCrash, WriterKilledMidAppendLeavesReadersUnblockedAndEveryItemWhole) {
  const int trials = test::list_scaled(50);
  const std::uint32_t survivor_items = static_cast<std::uint32_t>(test::list_scaled(1500));
  constexpr std::uint32_t kAfterItems = 50;
  std::mt19937 rng(12345);
  int killed_holding_lock = 0;
  for (int trial = 0; trial < trials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const test::ScopedList name("crash");
    auto list = List<std::string>::create(name);
    const test::Pipe started;

    // The reader follows the list until it is closed, never blocked for long.
    const pid_t reader = test::fork_child([&] {
      const auto mine = List<std::string>::open(name);
      Tally tally;
      for (std::uint64_t i = 0;; ++i) {
        if (!mine.wait_for_size(i + 1, test::kGenerous)) {
          check_in_child(mine.closed(), "reader blocked: no item " + std::to_string(i) +
                                            " and the list is not closed");
          break;
        }
        check_in_child(tally.add(mine[i], i), "reader: " + tally.error);
      }
      check_in_child(tally.items == mine.size(), "reader saw a different count");
    });
    const pid_t victim = test::fork_child([&] {
      auto mine = List<std::string>::open(name);
      write_items(mine, kVictim, 0, 0, &started);
    });
    const pid_t survivor = test::fork_child([&] {
      auto mine = List<std::string>::open(name);
      write_items(mine, kSurvivor, 0, survivor_items, nullptr);
    });

    // Kill the victim at a random moment of its appends: after a random number
    // of items, plus a random spin.
    ASSERT_TRUE(started.receive());
    const std::uint64_t threshold = rng() % 1500;
    EXPECT_TRUE(list.wait_for_size(threshold, test::kGenerous));
    for (auto spin = rng() % 20'000; spin > 0; --spin) platform::cpu_relax();
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    ASSERT_TRUE(test::wait_until_ended(victim));
    if (head_of(list).append_lock.locked()) ++killed_holding_lock;

    // The next writer's append works: the lock of the dead writer is taken
    // over. (The victim is a zombie until reaped: dead already.)
    write_items(list, kAfter, 0, kAfterItems, nullptr);
    EXPECT_EQ(test::wait_exit_code(victim), test::kKilled);
    EXPECT_EQ(test::wait_exit_code(survivor), 0);
    list.close();
    EXPECT_EQ(test::wait_exit_code(reader), 0);

    // Everything published is whole: the victim's items 0..m-1, all of the
    // survivor's and the parent's, each writer in order, nothing else.
    Tally tally;
    for (std::uint64_t i = 0; i < list.size(); ++i) {
      ASSERT_TRUE(tally.add(list[i], i)) << tally.error;
    }
    EXPECT_EQ(tally.next[kSurvivor], survivor_items);
    EXPECT_EQ(tally.next[kAfter], kAfterItems);
    EXPECT_GE(tally.next[kVictim], 1u);
    EXPECT_EQ(tally.items, list.size());
    EXPECT_EQ(tally.next[kVictim] + survivor_items + kAfterItems, list.size());
    if (HasFatalFailure() || HasNonfatalFailure()) break;
  }
  // How often the kill landed inside the locked part of an append (informative).
  RecordProperty("killed_holding_lock", killed_holding_lock);
  std::cout << "writer killed holding the append lock in " << killed_holding_lock << " of "
            << trials << " trials\n";
}

// A writer that dies holding the append lock (however it got there) is taken
// over by the next append, which carries on; readers never wait for the lock.
TEST(ListCrash, AppendTakesOverTheLockOfAWriterThatDiedHoldingIt) {
  const test::ScopedList name("dead-holder");
  auto list = List<std::string>::create(name);
  list.append("before");
  const pid_t holder = test::fork_child([&] {
    const auto mine = List<std::string>::open(name);
    check_in_child(head_of(mine).append_lock.lock() == LockResult::acquired, "lock");
    ::raise(SIGKILL);  // dies holding it
  });
  ASSERT_TRUE(test::wait_until_ended(holder));
  EXPECT_TRUE(head_of(list).append_lock.locked());
  // Readers take no lock.
  EXPECT_EQ(list[0], "before");
  EXPECT_TRUE(list.wait_for_size(1, 0ms));
  // A writer in another process, and one here.
  const pid_t writer = test::fork_child([&] {
    auto mine = List<std::string>::open(name);
    mine.append("from child");
  });
  EXPECT_EQ(test::wait_exit_code(writer), 0);
  list.append("after");
  EXPECT_EQ(test::wait_exit_code(holder), test::kKilled);
  EXPECT_EQ(list.to_vector(), (std::vector<std::string>{"before", "from child", "after"}));
  list.close();  // close takes the lock too
  EXPECT_TRUE(list.closed());
}

// The state an appender leaves when it is killed right after publishing a new
// data chunk, before it resets data_used for it (list_core.cpp, place()): the
// next append must write into the new chunk, never over published records.
TEST(ListCrash, AWriterKilledRightAfterPublishingADataChunkLeavesEveryItemIntact) {
  const test::ScopedList name("new-chunk");
  auto list = List<std::string>::create(name);
  std::vector<std::string> expected;
  for (std::uint32_t i = 0; i < 40; ++i) {  // 12 KiB of the 16 KiB first data chunk
    expected.push_back(std::to_string(i) + std::string(290, static_cast<char>('a' + i % 26)));
    list.append(expected.back());
  }
  ASSERT_EQ(head_of(list).data_chunks.load(), 1u);
  const std::uint64_t used = head_of(list).data_used;
  ASSERT_GT(used, 8000u);
  const pid_t appender = test::fork_child([&] {
    const auto mine = List<std::string>::open(name);
    detail::ListHead& head = head_of(mine);
    check_in_child(head.append_lock.lock() == LockResult::acquired, "lock");
    // What make_chunk('d', 1, ...) and the publish of its number do.
    SegmentOptions options;
    options.kind = Kind::list_chunk;
    (void)Segment::create(name.str() + ".d1", 32 << 10, options);
    head.data_chunks.store(2, std::memory_order_release);
    ::raise(SIGKILL);  // before data_used = 0
  });
  ASSERT_TRUE(test::wait_until_ended(appender));
  for (std::uint32_t i = 40; i < 100; ++i) {
    expected.push_back(std::to_string(i) + std::string(290, static_cast<char>('a' + i % 26)));
    list.append(expected.back());
  }
  EXPECT_EQ(test::wait_exit_code(appender), test::kKilled);
  EXPECT_EQ(list.to_vector(), expected);
  EXPECT_EQ(List<std::string>::open(name).to_vector(), expected);
}

// Readers killed anywhere: while reading, and while asleep in wait_for_size.
// The writer never notices, and a new reader is woken as usual.
TEST(ListCrash, ReadersKilledAnywhereAffectNobody) {
  const int trials = test::list_scaled(20);
  std::mt19937 rng(777);
  const test::ScopedList name("reader-crash");
  auto list = List<std::string>::create(name);
  std::uint32_t written = 0;
  for (int trial = 0; trial < trials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const test::Pipe reading;
    // Busy readers (reading everything over and over) and sleeping ones.
    std::vector<pid_t> busy;
    std::vector<pid_t> asleep;
    for (int r = 0; r < 2; ++r) {
      busy.push_back(test::fork_child([&] {
        const auto mine = List<std::string>::open(name);
        reading.send();
        for (;;) {
          const std::uint64_t n = mine.size();
          for (std::uint64_t i = 0; i < n; ++i) {
            std::uint32_t w = 0;
            std::uint32_t s = 0;
            check_in_child(test::parse_tagged_string(mine[i], w, s, kMaxFiller), "torn");
          }
          (void)mine.wait_for_size(n + 1, 1ms);
        }
      }));
      asleep.push_back(test::fork_child([&] {
        const auto mine = List<std::string>::open(name);
        (void)mine.wait_for_size(std::uint64_t{1} << 40);  // until killed
      }));
    }
    ASSERT_TRUE(reading.receive());
    ASSERT_TRUE(reading.receive());
    // Append while they run, then kill them at a random moment.
    const auto n = static_cast<std::uint32_t>(1 + rng() % 200);
    for (std::uint32_t i = 0; i < n; ++i) {
      list.append(test::tagged_string(kAfter, written++, kMaxFiller));
    }
    for (auto spin = rng() % 50'000; spin > 0; --spin) platform::cpu_relax();
    for (const pid_t pid : busy) ::kill(pid, SIGKILL);
    for (const pid_t pid : asleep) ::kill(pid, SIGKILL);
    for (const pid_t pid : busy) EXPECT_EQ(test::wait_exit_code(pid), test::kKilled);
    for (const pid_t pid : asleep) EXPECT_EQ(test::wait_exit_code(pid), test::kKilled);
  }
  // A new reader is woken by the next append; every item is whole.
  const pid_t reader = test::fork_child([&] {
    const auto mine = List<std::string>::open(name);
    check_in_child(mine.wait_for_size(written + 1, test::kGenerous), "reader not woken");
    for (std::uint32_t i = 0; i <= written; ++i) {
      std::uint32_t w = 0;
      std::uint32_t s = 0;
      check_in_child(test::parse_tagged_string(mine[i], w, s, kMaxFiller) && w == kAfter && s == i,
                     "item " + std::to_string(i));
    }
  });
  (void)test::eventually([&] { return test::proc_state(reader) == 'S'; }, 2000);
  list.append(test::tagged_string(kAfter, written, kMaxFiller));
  EXPECT_EQ(test::wait_exit_code(reader), 0);
  EXPECT_EQ(list.size(), written + 1);
}

// A reader killed asleep in wait_for_size stays counted as a waiter, and
// every append would then make a wake-up call (appends ran about 6x slower).
// The first append whose wake-up wakes nobody drops the count; from then on
// appends bump no futex word.
TEST(ListCrash, AReaderKilledAsleepCostsTheAppendersNoWakeUps) {
  const test::ScopedList name("reader-asleep");
  auto list = List<std::string>::create(name);
  std::atomic<std::uint64_t>& waiters = head_of(list).waiters;
  const auto counted = [&] { return waiters.load() & detail::kListWaiterCount; };
  const pid_t victim = test::fork_child([&] {
    const auto mine = List<std::string>::open(name);
    (void)mine.wait_for_size(std::uint64_t{1} << 40);  // until killed
  });
  ASSERT_TRUE(test::eventually([&] { return counted() != 0; }));
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(victim), test::kKilled);
  ASSERT_EQ(counted(), 1u);  // left behind
  list.append("first");
  EXPECT_EQ(counted(), 0u);
  const std::uint32_t seq = head_of(list).append_seq.load();
  for (int i = 0; i < 100; ++i) list.append("more");
  EXPECT_EQ(head_of(list).append_seq.load(), seq);
  // A reader that sleeps now is counted and woken as before.
  const pid_t reader = test::fork_child([&] {
    const auto mine = List<std::string>::open(name);
    check_in_child(mine.wait_for_size(102, test::kGenerous), "reader not woken");
  });
  ASSERT_TRUE(test::eventually([&] { return counted() != 0; }));
  list.append("last");
  EXPECT_EQ(test::wait_exit_code(reader), 0);
  EXPECT_EQ(counted(), 0u);
}

}  // namespace
}  // namespace shmkit
