// List<T> across processes: many writer processes at once (exact multiset,
// each writer's items in order, nothing torn, extend batches contiguous),
// readers asleep in wait_for_size woken by appends in another process (no lost
// wake-up), and close() from another process. Every child opens the list by
// name itself, as an unrelated process would.
#include <signal.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "list_test_util.hpp"
#include "shmkit/list.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::check_in_child;
using test::code_of;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

constexpr std::uint32_t kWriters = 4;

// A reader process following the list as it grows: each item is whole, each
// writer's items come in order, and it sees exactly `total` items.
template <class T, class Check>
pid_t follow_in_child(const test::ScopedList& name, std::uint64_t total, Check check) {
  return test::fork_child([&name, total, check] {
    const auto list = List<T>::open_waiting(name, test::kGenerous);
    std::array<std::uint32_t, kWriters> next{};
    for (std::uint64_t i = 0; i < total; ++i) {
      check_in_child(list.wait_for_size(i + 1, test::kGenerous),
                     "reader: no item " + std::to_string(i));
      check(list[i], next, i);
    }
    check_in_child(!list.wait_for_size(total + 1, 0ms), "reader: more items than written");
  });
}

void check_tagged(const test::Tagged& item, std::array<std::uint32_t, kWriters>& next,
                  std::uint64_t i) {
  check_in_child(item.intact(), "torn item at " + std::to_string(i));
  check_in_child(item.writer < kWriters, "bad writer at " + std::to_string(i));
  check_in_child(item.seq == next[item.writer]++, "out of order at " + std::to_string(i));
}

void check_string(std::string_view item, std::array<std::uint32_t, kWriters>& next,
                  std::uint64_t i) {
  std::uint32_t w = 0;
  std::uint32_t s = 0;
  check_in_child(test::parse_tagged_string(item, w, s), "torn string at " + std::to_string(i));
  check_in_child(w < kWriters, "bad writer at " + std::to_string(i));
  check_in_child(s == next[w]++, "out of order at " + std::to_string(i));
}

TEST(ListIpc, FourWriterProcessesAppendTheExactMultisetEachWritersItemsInOrder) {
  const auto per_writer = static_cast<std::uint32_t>(test::list_scaled(20'000));
  const std::uint64_t total = std::uint64_t{kWriters} * per_writer;
  const test::ScopedList name("mw");
  auto list = List<test::Tagged>::create(name);
  const test::Pipe start;
  std::vector<pid_t> pids;
  pids.push_back(follow_in_child<test::Tagged>(name, total, check_tagged));
  for (std::uint32_t w = 0; w < kWriters; ++w) {
    pids.push_back(test::fork_child([&, w] {
      auto mine = List<test::Tagged>::open(name);
      check_in_child(start.receive(), "no start");
      for (std::uint32_t s = 0; s < per_writer; ++s) mine.append(test::Tagged::make(w, s));
    }));
  }
  start.send(kWriters);
  EXPECT_TRUE(test::all_exit_zero(pids));

  ASSERT_EQ(list.size(), total);
  std::array<std::uint32_t, kWriters> next{};
  std::uint64_t seq_sum = 0;
  for (const test::Tagged& item : list) {
    ASSERT_TRUE(item.intact());
    ASSERT_LT(item.writer, kWriters);
    ASSERT_EQ(item.seq, next[item.writer]++);
    seq_sum += item.seq;
  }
  for (const std::uint32_t n : next) EXPECT_EQ(n, per_writer);
  EXPECT_EQ(seq_sum, std::uint64_t{kWriters} * per_writer * (per_writer - 1) / 2);
}

TEST(ListIpc, FourWriterProcessesAppendStringsOfVariedLengthNoneTorn) {
  const auto per_writer = static_cast<std::uint32_t>(test::list_scaled(20'000));
  const std::uint64_t total = std::uint64_t{kWriters} * per_writer;
  const test::ScopedList name("mws");
  auto list = List<std::string>::create(name);
  const test::Pipe start;
  std::vector<pid_t> pids;
  pids.push_back(follow_in_child<std::string>(name, total, check_string));
  for (std::uint32_t w = 0; w < kWriters; ++w) {
    pids.push_back(test::fork_child([&, w] {
      auto mine = List<std::string>::open(name);
      check_in_child(start.receive(), "no start");
      for (std::uint32_t s = 0; s < per_writer; ++s) mine.append(test::tagged_string(w, s));
    }));
  }
  start.send(kWriters);
  EXPECT_TRUE(test::all_exit_zero(pids));

  ASSERT_EQ(list.size(), total);
  std::array<std::uint32_t, kWriters> next{};
  std::uint64_t bytes = 0;
  for (std::uint64_t i = 0; i < total; ++i) {
    std::uint32_t w = 0;
    std::uint32_t s = 0;
    ASSERT_TRUE(test::parse_tagged_string(list[i], w, s)) << i;
    ASSERT_LT(w, kWriters);
    ASSERT_EQ(s, next[w]++) << i;
    bytes += list[i].size();
  }
  for (const std::uint32_t n : next) EXPECT_EQ(n, per_writer);
  // Each item: its bytes, its 4-byte length and its 8-byte index entry. Exact:
  // the writers' additions to the count, made under the lock, lose none.
  EXPECT_EQ(list.bytes_in_use(), bytes + total * (4 + 8));
}

// Writer w's batch b has 1 + mix(w, b) % 40 items (deterministic, so the test
// knows every batch's extent).
std::uint32_t batch_size(std::uint32_t w, std::uint32_t b) {
  return 1 + static_cast<std::uint32_t>(test::mix((std::uint64_t{w} << 32) | b) % 40);
}

TEST(ListIpc, ExtendBatchesFromFourProcessesAreEachContiguousAndWhole) {
  const auto per_writer = static_cast<std::uint32_t>(test::list_scaled(20'000));
  const test::ScopedList name("batch");
  const test::ScopedList string_name("batch-str");
  auto list = List<test::Tagged>::create(name);
  auto strings = List<std::string>::create(string_name);
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (std::uint32_t w = 0; w < kWriters; ++w) {
    pids.push_back(test::fork_child([&, w] {
      auto mine = List<test::Tagged>::open(name);
      auto my_strings = List<std::string>::open(string_name);
      check_in_child(start.receive(), "no start");
      std::uint32_t s = 0;
      for (std::uint32_t b = 0; s < per_writer; ++b) {
        const std::uint32_t n = std::min(batch_size(w, b), per_writer - s);
        std::vector<test::Tagged> batch;
        std::vector<std::string> string_batch;
        for (std::uint32_t j = 0; j < n; ++j) {
          batch.push_back(test::Tagged::make(w, s + j));
          if (s + j < per_writer / 4) string_batch.push_back(test::tagged_string(w, s + j));
        }
        mine.extend(batch);
        if (!string_batch.empty()) my_strings.extend(string_batch);
        s += n;
      }
    }));
  }
  start.send(kWriters);
  EXPECT_TRUE(test::all_exit_zero(pids));

  // Where each (writer, seq) landed.
  ASSERT_EQ(list.size(), std::uint64_t{kWriters} * per_writer);
  std::vector<std::vector<std::uint64_t>> at(kWriters, std::vector<std::uint64_t>(per_writer));
  std::array<std::uint32_t, kWriters> next{};
  for (std::uint64_t i = 0; i < list.size(); ++i) {
    const test::Tagged& item = list[i];
    ASSERT_TRUE(item.intact()) << i;
    ASSERT_LT(item.writer, kWriters);
    ASSERT_EQ(item.seq, next[item.writer]++) << i;
    at[item.writer][item.seq] = i;
  }
  std::uint64_t batches = 0;
  for (std::uint32_t w = 0; w < kWriters; ++w) {
    std::uint32_t s = 0;
    for (std::uint32_t b = 0; s < per_writer; ++b, ++batches) {
      const std::uint32_t n = std::min(batch_size(w, b), per_writer - s);
      for (std::uint32_t j = 1; j < n; ++j) {
        ASSERT_EQ(at[w][s + j], at[w][s] + j) << "writer " << w << " batch " << b;
      }
      s += n;
    }
  }
  EXPECT_GT(batches, std::uint64_t{kWriters});

  // The string batches: the same, checked as runs of one writer.
  std::array<std::uint32_t, kWriters> string_next{};
  std::array<std::uint32_t, kWriters> batch_no{};
  for (std::uint64_t i = 0; i < strings.size();) {
    std::uint32_t w = 0;
    std::uint32_t s = 0;
    ASSERT_TRUE(test::parse_tagged_string(strings[i], w, s)) << i;
    ASSERT_LT(w, kWriters);
    ASSERT_EQ(s, string_next[w]) << i;
    const std::uint32_t n = batch_size(w, batch_no[w]++);
    for (std::uint32_t j = 0; j < n && s + j < per_writer / 4; ++j, ++i) {
      std::uint32_t wj = 0;
      std::uint32_t sj = 0;
      ASSERT_LT(i, strings.size());
      ASSERT_TRUE(test::parse_tagged_string(strings[i], wj, sj)) << i;
      ASSERT_EQ(wj, w) << "batch interleaved at " << i;
      ASSERT_EQ(sj, s + j) << i;
      ++string_next[w];
    }
  }
  for (const std::uint32_t n : string_next) EXPECT_EQ(n, per_writer / 4);
}

// --- readers waiting and woken ----------------------------------------------------

TEST(ListIpc, AReaderProcessWaitingForEachItemIsWokenByEveryAppend) {
  const auto n = static_cast<std::uint32_t>(test::list_scaled(20'000));
  const test::ScopedList name("follow");
  auto list = List<std::uint32_t>::create(name);
  const pid_t reader = test::fork_child([&] {
    const auto mine = List<std::uint32_t>::open(name);
    for (std::uint32_t i = 0; i < n; ++i) {
      check_in_child(mine.wait_for_size(i + 1, test::kGenerous),
                     "lost wake-up waiting for item " + std::to_string(i));
      check_in_child(mine[i] == i * 3, "wrong item " + std::to_string(i));
    }
  });
  const pid_t writer = test::fork_child([&] {
    auto mine = List<std::uint32_t>::open(name);
    for (std::uint32_t i = 0; i < n; ++i) mine.append(i * 3);
  });
  EXPECT_EQ(test::wait_exit_code(writer), 0);
  EXPECT_EQ(test::wait_exit_code(reader), 0);
  EXPECT_EQ(list.size(), n);
}

// Lockstep: A appends i to `ping` and waits for `pong` to reach i + 1; B waits
// for `ping` to reach i + 1 and appends to `pong`. Each side sleeps in nearly
// every round, so a lost wake-up shows up as a timed-out wait.
TEST(ListIpc, PingPongBetweenTwoProcessesLosesNoWakeUp) {
  const auto rounds = static_cast<std::uint32_t>(test::list_scaled(5'000));
  const test::ScopedList ping_name("ping");
  const test::ScopedList pong_name("pong");
  auto ping = List<std::uint32_t>::create(ping_name);
  auto pong = List<std::uint32_t>::create(pong_name);
  const auto side = [&](bool first) {
    return test::fork_child([&, first] {
      auto mine = List<std::uint32_t>::open(first ? ping_name : pong_name);
      const auto theirs = List<std::uint32_t>::open(first ? pong_name : ping_name);
      for (std::uint32_t i = 0; i < rounds; ++i) {
        if (first) mine.append(i);
        check_in_child(theirs.wait_for_size(i + 1, test::kGenerous),
                       "lost wake-up in round " + std::to_string(i));
        check_in_child(theirs[i] == i, "wrong item in round " + std::to_string(i));
        if (!first) mine.append(i);
      }
    });
  };
  const pid_t a = side(true);
  const pid_t b = side(false);
  EXPECT_EQ(test::wait_exit_code(a), 0);
  EXPECT_EQ(test::wait_exit_code(b), 0);
  EXPECT_EQ(ping.size(), rounds);
  EXPECT_EQ(pong.size(), rounds);
}

TEST(ListIpc, OneAppendWakesEveryReaderProcessAsleepInWaitForSize) {
  constexpr int kReaders = 4;
  const test::ScopedList name("wake-all");
  auto list = List<int>::create(name);
  std::vector<pid_t> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.push_back(test::fork_child([&] {
      const auto mine = List<int>::open(name);
      check_in_child(mine.wait_for_size(1), "woken without the item");  // no timeout
      check_in_child(mine[0] == 77, "wrong item");
    }));
  }
  // Append while they sleep, so that the wake-up is what is tested.
  EXPECT_TRUE(test::eventually([&] {
    return std::all_of(readers.begin(), readers.end(),
                       [](pid_t pid) { return test::proc_state(pid) == 'S'; });
  }));
  list.append(77);
  EXPECT_TRUE(test::all_exit_zero(readers));
}

TEST(ListIpc, WaitForSizeInAnotherProcessTimesOutWhenNothingComes) {
  const test::ScopedList name("idle");
  auto list = List<int>::create(name);
  list.append(1);
  const pid_t reader = test::fork_child([&] {
    const auto mine = List<int>::open(name);
    check_in_child(mine.wait_for_size(1, 0ms), "the first item is missing");
    check_in_child(!mine.wait_for_size(2, 50ms), "wait_for_size(2) returned true");
  });
  EXPECT_EQ(test::wait_exit_code(reader), 0);
}

// --- close from another process -------------------------------------------------

TEST(ListIpc, CloseInAnotherProcessWakesABlockedReaderWithFalse) {
  const test::ScopedList name("close");
  auto list = List<std::string>::create(name);
  const pid_t reader = test::fork_child([&] {
    const auto mine = List<std::string>::open(name);
    check_in_child(!mine.wait_for_size(10), "wait_for_size(10) true with 3 items");  // no timeout
    check_in_child(mine.closed(), "not closed");
    check_in_child(mine.size() == 3 && mine[2] == "c", "wrong items");
    check_in_child(mine.wait_for_size(3), "wait_for_size(3) false with 3 items");
  });
  EXPECT_TRUE(test::eventually([&] { return test::proc_state(reader) == 'S'; }));
  list.extend(std::vector<std::string>{"a", "b"});
  const pid_t closer = test::fork_child([&] {
    auto mine = List<std::string>::open(name);
    mine.append("c");
    mine.close();
    const test::Thrown t = test::thrown_by([&] { mine.append("d"); });
    check_in_child(t.code == code_of(Errc::closed), "append after close: " + t.message);
  });
  EXPECT_EQ(test::wait_exit_code(closer), 0);
  EXPECT_EQ(test::wait_exit_code(reader), 0);
  EXPECT_TRUE(list.closed());
  EXPECT_EQ(test::thrown_by([&] { list.append("e"); }).code, code_of(Errc::closed));
  EXPECT_EQ(list.size(), 3u);
}

// Items appended in another process, in chunks this process has never mapped,
// are readable here; and this process's references into earlier chunks stay.
TEST(ListIpc, ChunksMadeByAnotherProcessAreMappedOnDemand) {
  const test::ScopedList name("chunks");
  auto list = List<std::string>::create(name);
  list.append("mine");
  const std::string_view first = list[0];
  const pid_t writer = test::fork_child([&] {
    auto mine = List<std::string>::open(name);
    for (std::uint32_t i = 0; i < 3000; ++i) mine.append(test::tagged_string(2, i, 2000));
  });
  ASSERT_EQ(test::wait_exit_code(writer), 0);
  ASSERT_EQ(list.size(), 3001u);
  for (std::uint32_t i = 0; i < 3000; ++i) {
    ASSERT_TRUE(list[i + 1] == test::tagged_string(2, i, 2000)) << i;
  }
  EXPECT_EQ(first, "mine");
  list.append("after");  // this process appends into the other's newest chunk
  EXPECT_EQ(list[3001], "after");
}

}  // namespace
}  // namespace shmkit
