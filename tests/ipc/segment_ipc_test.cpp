// Segments across real processes (segment.hpp): racing creators, waiting
// openers, a creator or an attacher killed with SIGKILL, and forked handles.
// Children are forked with test::fork_child and never return into gtest; they
// report failure by throwing (exit code 1). Every wait has a timeout.

#include "shmkit/segment.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace shmkit {
namespace {

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

constexpr std::chrono::seconds kPatient{60};
constexpr int kRacers = 8;       // processes racing for one name
constexpr int kRaceRounds = 10;  // fresh name each round
constexpr int kExitingChildren = 4;

void fill_pattern(std::span<std::byte> data, unsigned seed) {
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte((i * 31 + seed) & 0xff);
}

bool has_pattern(std::span<const std::byte> data, unsigned seed) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] != std::byte((i * 31 + seed) & 0xff)) return false;
  }
  return true;
}

// The 64-bit word at `offset` of the data area (page-aligned, so 8-aligned).
std::atomic_ref<std::uint64_t> word(const Segment& s, std::size_t offset) {
  return std::atomic_ref<std::uint64_t>(
      *reinterpret_cast<std::uint64_t*>(s.data().data() + offset));  // NOLINT: mapped layout
}

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

std::size_t count_alive(const std::vector<ProcessStatus>& all, bool alive) {
  return static_cast<std::size_t>(std::count_if(
      all.begin(), all.end(), [alive](const ProcessStatus& s) { return s.alive == alive; }));
}

TEST(SegmentIpc, ChildWritesAndParentReads) {
  test::ScopedName name("child-writes");
  const Segment parent = Segment::create(name, 50000);
  const pid_t pid = test::fork_child([&] {
    const Segment s = Segment::open(name);
    require(s.is_attached(), "not attached");
    fill_pattern(s.data(), 4);
  });
  EXPECT_EQ(test::wait_exit_code(pid), 0);
  EXPECT_TRUE(has_pattern(parent.data(), 4));
  // The child closed its handle when it returned: only we are attached.
  ASSERT_EQ(parent.attached().size(), 1u);
  EXPECT_EQ(parent.attached()[0].process, ProcessIdentity::self());
}

// Data area of the race: [0] opens, [8] creations, [16] the creator's pid,
// [64, end) the initializer's pattern.
TEST(SegmentIpc, EightProcessesRacingOpenOrCreateInitialiseOnce) {
  constexpr std::uint64_t kSize = 64 << 10;
  for (int round = 0; round < kRaceRounds; ++round) {
    test::ScopedName name("race");
    test::Pipe gate;
    std::vector<pid_t> children;
    children.reserve(kRacers);
    for (int i = 0; i < kRacers; ++i) {
      children.push_back(test::fork_child([&] {
        require(gate.receive(), "start gate never opened");
        SegmentOptions options;
        options.ready_timeout = kPatient;
        options.initialize = [](std::span<std::byte> data) { fill_pattern(data.subspan(64), 77); };
        const Segment s = Segment::open_or_create(name, kSize, options);
        require(s.data().size() == kSize, "wrong size");
        require(has_pattern(s.data().subspan(64), 77), "initializer's content not seen");
        if (s.created()) {
          word(s, 16).store(static_cast<std::uint64_t>(::getpid()), std::memory_order_relaxed);
          word(s, 8).fetch_add(1, std::memory_order_relaxed);
        }
        word(s, 0).fetch_add(1, std::memory_order_relaxed);
      }));
    }
    gate.send(kRacers);  // all forked: let them go at once
    for (const pid_t pid : children) EXPECT_EQ(test::wait_exit_code(pid), 0) << "round " << round;
    const Segment s = Segment::open(name);
    EXPECT_EQ(word(s, 0).load(), 8u) << "round " << round;
    EXPECT_EQ(word(s, 8).load(), 1u) << "round " << round;
    EXPECT_EQ(static_cast<std::uint64_t>(s.creator().pid), word(s, 16).load());
    EXPECT_NE(std::find(children.begin(), children.end(), s.creator().pid), children.end());
    // Every child closed its handle: only ours is left.
    EXPECT_EQ(s.attached().size(), 1u) << "round " << round;
    EXPECT_TRUE(Segment::remove(name));
  }
}

TEST(SegmentIpc, OpenWaitsForACreatorInAnotherProcess) {
  test::ScopedName name("wait-proc");
  test::Pipe in_init;
  test::Pipe release;
  test::Pipe opening;
  const pid_t creator = test::fork_child([&] {
    SegmentOptions options;
    options.initialize = [&](std::span<std::byte> data) {
      in_init.send();
      require(release.receive(), "never released");
      fill_pattern(data, 5);
    };
    const Segment s = Segment::create(name, 8192, options);
  });
  ASSERT_TRUE(in_init.receive());

  SegmentOptions short_wait;
  short_wait.ready_timeout = std::chrono::milliseconds(20);
  const test::Thrown early = test::thrown_by([&] { Segment::open(name, short_wait); });
  EXPECT_EQ(early.code, make_error_code(Errc::timeout));
  EXPECT_NE(early.message.find(name.str()), std::string::npos) << early.message;

  const pid_t opener = test::fork_child([&] {
    SegmentOptions options;
    options.ready_timeout = kPatient;
    opening.send();
    const Segment s = Segment::open(name, options);
    require(!s.created(), "opener created");
    require(has_pattern(s.data(), 5), "initializer's content not seen");
  });
  ASSERT_TRUE(opening.receive());
  release.send();
  EXPECT_EQ(test::wait_exit_code(creator), 0);
  EXPECT_EQ(test::wait_exit_code(opener), 0);
  const Segment s = Segment::open(name);
  EXPECT_TRUE(has_pattern(s.data(), 5));
  EXPECT_EQ(s.attached().size(), 1u);
}

TEST(SegmentIpc, CreatorKilledWhileInitialisingMakesOpenFailFast) {
  test::ScopedName name("killed-creator");
  test::Pipe in_init;
  const pid_t creator = test::fork_child([&] {
    SegmentOptions options;
    options.initialize = [&](std::span<std::byte>) {
      in_init.send();
      for (;;) ::pause();
    };
    Segment::create(name, 4096, options);
  });
  ASSERT_TRUE(in_init.receive());
  ASSERT_EQ(::kill(creator, SIGKILL), 0);
  ASSERT_TRUE(test::wait_until_ended(creator));  // a zombie, not yet reaped

  // With a minute to wait, open still fails at once: it sees the creator died.
  SegmentOptions options;
  options.ready_timeout = kPatient;
  const test::Thrown t = test::thrown_by([&] { Segment::open(name, options); });
  EXPECT_EQ(t.code, make_error_code(Errc::corrupt));
  EXPECT_NE(t.message.find("died"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("pid " + std::to_string(creator)), std::string::npos) << t.message;

  EXPECT_EQ(test::wait_exit_code(creator), 128 + SIGKILL);
  EXPECT_EQ(test::thrown_by([&] { Segment::open_or_create(name, 4096, options); }).code,
            make_error_code(Errc::corrupt));
  // What it left is recognisably ours, so it can be removed, and the name reused.
  EXPECT_TRUE(Segment::remove(name));
  EXPECT_TRUE(Segment::open_or_create(name, 4096, options).created());
}

TEST(SegmentIpc, KilledAttacherLeavesADeadEntryThatIsReclaimedWhenTheTableIsFull) {
  test::ScopedName name("killed-attacher");
  const Segment creator = Segment::create(name, 4096);
  test::Pipe attached;
  const pid_t pid = test::fork_child([&] {
    const Segment s = Segment::open(name);
    require(s.is_attached(), "not attached");
    attached.send();
    for (;;) ::pause();
  });
  ASSERT_TRUE(attached.receive());
  const std::optional<ProcessIdentity> child = ProcessIdentity::of(pid);
  ASSERT_TRUE(child.has_value());
  {
    const auto all = creator.attached();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(count_alive(all, true), 2u);
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_EQ(test::wait_exit_code(pid), 128 + SIGKILL);
  {
    const auto all = creator.attached();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(count_alive(all, true), 1u);
    const auto dead =
        std::find_if(all.begin(), all.end(), [](const ProcessStatus& s) { return !s.alive; });
    ASSERT_NE(dead, all.end());
    EXPECT_EQ(dead->process, *child);
  }

  // Free entries are taken first: 62 more handles fill the table, the dead
  // entry still there.
  std::vector<Segment> handles;
  for (std::uint32_t i = 2; i < detail::kAttachSlots; ++i) {
    handles.push_back(Segment::open(name));
    ASSERT_TRUE(handles.back().is_attached()) << i;
  }
  {
    const auto all = creator.attached();
    EXPECT_EQ(all.size(), 64u);
    EXPECT_EQ(count_alive(all, true), 63u);
    EXPECT_EQ(count_alive(all, false), 1u);
  }
  // The table is full: the next open reclaims the dead entry.
  handles.push_back(Segment::open(name));
  EXPECT_TRUE(handles.back().is_attached());
  {
    const auto all = creator.attached();
    EXPECT_EQ(all.size(), 64u);
    EXPECT_EQ(count_alive(all, true), 64u);
    EXPECT_EQ(std::count_if(all.begin(), all.end(),
                            [&](const ProcessStatus& s) { return s.process == *child; }),
              0);
  }
  // Every entry lives: one more is opened, but not attached.
  const Segment extra = Segment::open(name);
  EXPECT_FALSE(extra.is_attached());
  EXPECT_EQ(creator.attached().size(), 64u);
  handles.clear();
  EXPECT_EQ(creator.attached().size(), 1u);
}

TEST(SegmentIpc, ForkedChildClosingAnInheritedHandleKeepsTheParentsEntry) {
  test::ScopedName name("inherited");
  Segment parent = Segment::create(name, 4096);
  const std::uint64_t me = ProcessIdentity::self().pack();
  const pid_t pid = test::fork_child([&] {
    {
      Segment inherited = std::move(parent);  // destroyed in the child
      require(inherited.is_attached(), "inherited handle lost its entry");
    }
    // The parent's entry is still there, and this child never had one.
    SegmentOptions look;
    look.writable = false;
    const Segment viewer = Segment::open(name, look);
    const auto all = viewer.attached();
    require(all.size() == 1 && all[0].process.pack() == me, "parent's entry cleared");
    // A handle of its own gets an entry of its own, released on close.
    {
      const Segment own = Segment::open(name);
      require(own.is_attached() && viewer.attached().size() == 2, "no entry of its own");
    }
    require(viewer.attached().size() == 1, "own entry not released");
  });
  EXPECT_EQ(test::wait_exit_code(pid), 0);
  const auto all = parent.attached();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].process.pack(), me);
  EXPECT_TRUE(all[0].alive);
  EXPECT_TRUE(parent.is_attached());
}

TEST(SegmentIpc, ProcessesThatExitWithoutClosingLeaveDeadEntriesOnly) {
  test::ScopedName name("exit");
  const Segment parent = Segment::create(name, 4096);
  std::vector<pid_t> children;
  children.reserve(kExitingChildren);
  for (int i = 0; i < kExitingChildren; ++i) {
    children.push_back(test::fork_child([&] {
      const Segment s = Segment::open(name);
      require(s.is_attached(), "not attached");
      ::_exit(0);  // no destructor: the entry stays, naming a dead process
    }));
  }
  for (const pid_t pid : children) EXPECT_EQ(test::wait_exit_code(pid), 0);
  const auto all = parent.attached();
  EXPECT_EQ(all.size(), 1u + kExitingChildren);
  EXPECT_EQ(count_alive(all, true), 1u);
  EXPECT_EQ(count_alive(all, false), static_cast<std::size_t>(kExitingChildren));
}

// A full file system: whoever creates fails with out_of_space and leaves
// nothing; the racers that found its file meanwhile must not wait for it.
TEST(SegmentIpc, RacingOpenOrCreateOnAFullFileSystemAllFailWithOutOfSpace) {
  const test::TmpfsMount tmpfs(1 << 20);
  if (!tmpfs.ok()) GTEST_SKIP() << tmpfs.reason();
  for (int round = 0; round < kRaceRounds / 2; ++round) {
    test::Pipe gate;
    std::vector<pid_t> children;
    children.reserve(kRacers);
    for (int i = 0; i < kRacers; ++i) {
      children.push_back(test::fork_child([&] {
        require(gate.receive(), "start gate never opened");
        SegmentOptions options;
        options.directory = tmpfs.path();
        options.ready_timeout = kPatient;
        try {
          Segment::open_or_create("big", 4 << 20, options);
        } catch (const Error& e) {
          if (e.code() == Errc::out_of_space) return;
          throw;
        }
        throw std::runtime_error("created 4 MiB on a 1 MiB file system");
      }));
    }
    gate.send(kRacers);
    for (const pid_t pid : children) EXPECT_EQ(test::wait_exit_code(pid), 0) << "round " << round;
    SegmentOptions options;
    options.directory = tmpfs.path();
    EXPECT_TRUE(Segment::list(options).empty());
  }
}

}  // namespace
}  // namespace shmkit
