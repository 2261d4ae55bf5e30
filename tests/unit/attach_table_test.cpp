// The attach table algorithm (detail/attach_table.hpp) on one header in this
// process's memory, so that ThreadSanitizer sees every access: threads stand
// in for processes. Live identities come from parked children; dead ones are
// our own pid with another start time (what a reused pid looks like).

#include "shmkit/detail/attach_table.hpp"

#include <array>
#include <atomic>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace shmkit::detail {
namespace {

constexpr std::size_t kThreads = 8;  // each a distinct live process
constexpr std::size_t kFree = 4;     // free entries left among dead ones

std::unique_ptr<SegmentHeader> fresh_header() {
  auto header = std::make_unique<SegmentHeader>();
  for (auto& entry : header->attached) entry.store(0, std::memory_order_relaxed);
  return header;
}

ProcessIdentity dead(std::uint64_t n) {
  ProcessIdentity id = ProcessIdentity::self();
  id.start_ticks += 1 + n;  // after our own start: never a process that ran
  return id;
}

std::uint64_t entry(const SegmentHeader& header, std::size_t i) {
  return header.attached[i].load(std::memory_order_relaxed);
}

// `n` distinct live processes (parked children), their identities in `ids`.
struct LiveProcesses {
  explicit LiveProcesses(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      children.push_back(std::make_unique<test::ParkedChild>());
      const auto id = ProcessIdentity::of(children.back()->pid());
      if (!id) throw std::runtime_error("parked child not running");
      ids.push_back(*id);
    }
  }
  std::vector<std::unique_ptr<test::ParkedChild>> children;
  std::vector<ProcessIdentity> ids;
};

TEST(AttachTable, AttachTakesTheFirstFreeEntryAndDetachFreesIt) {
  auto header = fresh_header();
  const ProcessIdentity me = ProcessIdentity::self();
  EXPECT_EQ(attach_process(*header, me), 0);
  EXPECT_EQ(attach_process(*header, me), 1);
  EXPECT_EQ(entry(*header, 0), me.pack());
  EXPECT_EQ(entry(*header, 1), me.pack());
  detach_process(*header, 0, me.pack());
  EXPECT_EQ(entry(*header, 0), 0u);
  EXPECT_EQ(entry(*header, 1), me.pack());
  EXPECT_EQ(attach_process(*header, me), 0);
  EXPECT_EQ(attached_processes(*header).size(), 2u);
}

TEST(AttachTable, DetachLeavesAnEntryThatIsNoLongerOurs) {
  auto header = fresh_header();
  const ProcessIdentity me = ProcessIdentity::self();
  ASSERT_EQ(attach_process(*header, me), 0);
  // Someone reclaimed it, taking us for dead: it is theirs now.
  header->attached[0].store(dead(0).pack(), std::memory_order_relaxed);
  detach_process(*header, 0, me.pack());
  EXPECT_EQ(entry(*header, 0), dead(0).pack());
  // Out-of-range slots are ignored.
  detach_process(*header, -1, dead(0).pack());
  detach_process(*header, static_cast<int>(kAttachSlots), dead(0).pack());
  EXPECT_EQ(attached_processes(*header).size(), 1u);
}

TEST(AttachTable, AttachedProcessesListsLiveAndDeadEntries) {
  auto header = fresh_header();
  const ProcessIdentity me = ProcessIdentity::self();
  header->attached[3].store(me.pack(), std::memory_order_relaxed);
  header->attached[7].store(dead(1).pack(), std::memory_order_relaxed);
  const std::vector<ProcessStatus> all = attached_processes(*header);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].process, me);
  EXPECT_TRUE(all[0].alive);
  EXPECT_EQ(all[1].process, dead(1));
  EXPECT_FALSE(all[1].alive);
}

TEST(AttachTable, ADeadEntryIsReclaimedOnlyWhenNoneIsFree) {
  auto header = fresh_header();
  const ProcessIdentity me = ProcessIdentity::self();
  for (auto& e : header->attached) e.store(me.pack(), std::memory_order_relaxed);
  header->attached[10].store(dead(0).pack(), std::memory_order_relaxed);
  header->attached[20].store(0, std::memory_order_relaxed);
  EXPECT_EQ(attach_process(*header, me), 20);  // free first, though 10 is dead
  EXPECT_EQ(entry(*header, 10), dead(0).pack());
  EXPECT_EQ(attach_process(*header, me), 10);  // then the dead one
  EXPECT_EQ(attach_process(*header, me), -1);  // then none: every entry lives
  const std::vector<ProcessStatus> all = attached_processes(*header);
  EXPECT_EQ(all.size(), kAttachSlots);
  for (const ProcessStatus& s : all) EXPECT_TRUE(s.alive);
}

TEST(AttachTable, AZombieOrReapedEntryIsReclaimed) {
  auto header = fresh_header();
  const ProcessIdentity me = ProcessIdentity::self();
  LiveProcesses live(1);
  const ProcessIdentity child = live.ids[0];
  for (auto& e : header->attached) e.store(me.pack(), std::memory_order_relaxed);
  header->attached[5].store(child.pack(), std::memory_order_relaxed);
  EXPECT_EQ(attach_process(*header, me), -1);  // the child still runs
  live.children[0]->release();
  ASSERT_TRUE(test::wait_until_ended(child.pid));
  EXPECT_EQ(attach_process(*header, me), 5);  // a zombie is dead
  EXPECT_EQ(test::wait_exit_code(child.pid), 0);
}

// Eight threads, each a distinct live process, attach and detach at once.
// Read-read coherence on one entry makes the check valid even with the
// table's relaxed operations: after our CAS, the entry holds our word until
// we clear it, unless someone wrongly took a live entry.
TEST(AttachTable, ConcurrentAttachersNeverShareAnEntry) {
  constexpr int kRounds = 3000;
  auto header = fresh_header();
  const LiveProcesses live(kThreads);
  std::atomic<int> failures{0};
  std::atomic<int> attaches{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const ProcessIdentity me = live.ids[t];
        for (int round = 0; round < kRounds; ++round) {
          const int slot = attach_process(*header, me);
          if (slot < 0) {
            failures.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          attaches.fetch_add(1, std::memory_order_relaxed);
          if (entry(*header, static_cast<std::size_t>(slot)) != me.pack()) {
            failures.fetch_add(1, std::memory_order_relaxed);
          }
          detach_process(*header, slot, me.pack());
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(attaches.load(), static_cast<int>(kThreads) * kRounds);
  EXPECT_TRUE(attached_processes(*header).empty());
}

// Sixty dead entries and four free ones; eight live attachers hold an entry
// at the same time, so at least four must reclaim. Each dead entry is
// reclaimed at most once, and a reclaimed one is freed by its new owner.
TEST(AttachTable, ConcurrentAttachersReclaimEachDeadEntryOnce) {
  constexpr int kRounds = 500;
  auto header = fresh_header();
  for (std::size_t i = kFree; i < kAttachSlots; ++i) {
    header->attached[i].store(dead(i).pack(), std::memory_order_relaxed);
  }
  const LiveProcesses live(kThreads);
  std::array<std::atomic<bool>, kAttachSlots> taken{};
  std::atomic<int> failures{0};
  std::latch all_holding(static_cast<std::ptrdiff_t>(kThreads));
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const ProcessIdentity me = live.ids[t];
        auto attach = [&] {
          const int slot = attach_process(*header, me);
          if (slot < 0 || entry(*header, static_cast<std::size_t>(slot)) != me.pack()) {
            failures.fetch_add(1, std::memory_order_relaxed);
            return -1;
          }
          taken[static_cast<std::size_t>(slot)].store(true, std::memory_order_relaxed);
          return slot;
        };
        const int first = attach();
        all_holding.arrive_and_wait();  // eight holders, four free entries
        if (first >= 0) detach_process(*header, first, me.pack());
        for (int round = 0; round < kRounds; ++round) {
          const int slot = attach();
          if (slot >= 0) detach_process(*header, slot, me.pack());
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  std::size_t reclaimed = 0;
  for (std::size_t i = kFree; i < kAttachSlots; ++i) {
    if (taken[i].load()) {
      ++reclaimed;
      EXPECT_EQ(entry(*header, i), 0u) << i;  // reclaimed, then released
    } else {
      EXPECT_EQ(entry(*header, i), dead(i).pack()) << i;  // never touched
    }
  }
  EXPECT_GE(reclaimed, kThreads - kFree);
  for (std::size_t i = 0; i < kFree; ++i) EXPECT_EQ(entry(*header, i), 0u);
  for (const ProcessStatus& s : attached_processes(*header)) EXPECT_FALSE(s.alive);
}

}  // namespace
}  // namespace shmkit::detail
