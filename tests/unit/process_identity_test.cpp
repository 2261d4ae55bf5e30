#include "shmkit/platform/process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace shmkit {
namespace {

// Field 22 (starttime) of /proc/PID/stat, read independently of the library:
// fields are counted after the last ')', which ends the command name.
std::uint64_t proc_start_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  for (int i = 3; i < 22; ++i) fields >> field;
  std::uint64_t ticks = 0;
  fields >> ticks;
  return ticks;
}

TEST(ProcessIdentity, SelfMatchesProc) {
  const ProcessIdentity me = ProcessIdentity::self();
  EXPECT_EQ(me.pid, ::getpid());
  EXPECT_EQ(me.pid, current_pid());
  EXPECT_EQ(me.start_ticks, proc_start_ticks(::getpid()));
  EXPECT_GT(me.start_ticks, 0u);
  EXPECT_TRUE(is_alive(me));
  EXPECT_EQ(ProcessIdentity::of(::getpid()), me);
  EXPECT_EQ(ProcessIdentity::self(), me);  // stable across calls
}

TEST(ProcessIdentity, OfALiveChildIsItsIdentity) {
  const test::ParkedChild child;
  const std::optional<ProcessIdentity> id = ProcessIdentity::of(child.pid());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->pid, child.pid());
  EXPECT_EQ(id->start_ticks, proc_start_ticks(child.pid()));
  EXPECT_TRUE(is_alive(*id));
  EXPECT_FALSE(*id == ProcessIdentity::self());
  child.release();
  EXPECT_EQ(test::wait_exit_code(child.pid()), 0);
  EXPECT_FALSE(is_alive(*id));
}

TEST(ProcessIdentity, AZombieChildIsDead) {
  const pid_t pid = test::fork_child([] {});
  const std::optional<ProcessIdentity> id = ProcessIdentity::of(pid);  // may already be a zombie
  ASSERT_TRUE(test::wait_until_ended(pid));
  // Not reaped: /proc/PID still exists, in state Z.
  EXPECT_NE(proc_start_ticks(pid), 0u);
  EXPECT_FALSE(ProcessIdentity::of(pid).has_value());
  if (id) {
    EXPECT_FALSE(is_alive(*id));
  }
  EXPECT_FALSE(is_alive(ProcessIdentity{pid, proc_start_ticks(pid)}));
  EXPECT_EQ(test::wait_exit_code(pid), 0);
}

TEST(ProcessIdentity, AKilledChildIsDeadBeforeAndAfterItIsReaped) {
  const test::ParkedChild child;
  const std::optional<ProcessIdentity> id = ProcessIdentity::of(child.pid());
  ASSERT_TRUE(id.has_value());
  ASSERT_EQ(::kill(child.pid(), SIGKILL), 0);
  ASSERT_TRUE(test::wait_until_ended(child.pid()));
  EXPECT_FALSE(is_alive(*id));  // zombie
  EXPECT_EQ(test::wait_exit_code(child.pid()), 128 + SIGKILL);
  EXPECT_FALSE(is_alive(*id));  // reaped: no /proc entry (or someone else's)
}

TEST(ProcessIdentity, SamePidWithAnotherStartTimeIsNotAlive) {
  // What a reused pid looks like: the pid runs, but it is not the process we
  // recorded.
  ProcessIdentity other = ProcessIdentity::self();
  other.start_ticks += 1;
  EXPECT_FALSE(is_alive(other));
  other.start_ticks -= 2;
  EXPECT_FALSE(is_alive(other));
  EXPECT_FALSE(is_alive(ProcessIdentity{::getpid(), 0}));
}

TEST(ProcessIdentity, NobodyAndOutOfRangePidsAreNotAlive) {
  EXPECT_FALSE(is_alive(ProcessIdentity{}));
  EXPECT_FALSE(is_alive(ProcessIdentity{-1, 0}));
  EXPECT_FALSE(is_alive(ProcessIdentity{1 << 24, 0}));
  EXPECT_FALSE(ProcessIdentity::of(0).has_value());
  EXPECT_FALSE(ProcessIdentity::of(-5).has_value());
  EXPECT_FALSE(ProcessIdentity::of(1 << 24).has_value());
}

TEST(ProcessIdentity, PackUnpackRoundTrips) {
  const ProcessIdentity samples[] = {
      {1, 0},
      {4194304, 123456789},  // Linux's largest pid_max
      {static_cast<std::int32_t>(ProcessIdentity::kPidMask), (std::uint64_t{1} << 40) - 1},
      ProcessIdentity::self(),
  };
  for (const ProcessIdentity& id : samples) {
    const ProcessIdentity back = ProcessIdentity::unpack(id.pack());
    EXPECT_EQ(back.pid, id.pid);
    EXPECT_EQ(back.start_ticks, id.start_ticks);
    EXPECT_NE(id.pack(), 0u);
  }
  EXPECT_EQ(ProcessIdentity{}.pack(), 0u);
  EXPECT_EQ(ProcessIdentity::unpack(0).pid, 0);
  // Pid and start time are separate fields of the word.
  EXPECT_NE((ProcessIdentity{5, 1}.pack()), (ProcessIdentity{6, 1}.pack()));
  EXPECT_NE((ProcessIdentity{5, 1}.pack()), (ProcessIdentity{5, 2}.pack()));
}

TEST(ProcessIdentity, SelfAfterForkIsTheChild) {
  const ProcessIdentity parent = ProcessIdentity::self();  // cached before the fork
  const pid_t pid = test::fork_child([&] {
    const ProcessIdentity me = ProcessIdentity::self();
    if (me.pid != ::getpid() || me.pid == parent.pid) throw std::runtime_error("pid of the parent");
    if (me.start_ticks != proc_start_ticks(::getpid())) throw std::runtime_error("start time");
    if (!is_alive(me) || !is_alive(parent)) throw std::runtime_error("liveness");
    if (current_pid() != ::getpid()) throw std::runtime_error("current_pid");
  });
  EXPECT_EQ(test::wait_exit_code(pid), 0);
  EXPECT_EQ(ProcessIdentity::self(), parent);
}

// Unreadable is not dead: a caller out of file descriptors cannot open
// /proc/PID/stat, and must not take a live process for a dead one (a lock
// would get two holders). It finds the truth once it can read again.
TEST(ProcessIdentity, AProcessThatCannotBeLookedAtIsNotTakenForDead) {
  const test::ParkedChild child;
  const std::optional<ProcessIdentity> id = ProcessIdentity::of(child.pid());
  ASSERT_TRUE(id.has_value());
  {
    const test::NoFreeDescriptors none;
    EXPECT_TRUE(is_alive(*id));
  }
  child.release();
  ASSERT_EQ(test::wait_exit_code(child.pid()), 0);
  {
    const test::NoFreeDescriptors none;
    EXPECT_TRUE(is_alive(*id));  // unknown: not known to be dead
  }
  EXPECT_FALSE(is_alive(*id));
  EXPECT_FALSE(is_alive(ProcessIdentity{0, 1}));  // pid 0 needs no look
}

TEST(ProcessIdentity, SelfThrowsTheErrnoWhenProcCannotBeRead) {
  const pid_t pid = test::fork_child([] {  // a child: self() is not read yet there
    const test::Thrown thrown = test::thrown_by([] {
      const test::NoFreeDescriptors none;
      (void)ProcessIdentity::self();
    });
    if (thrown.code != std::errc::too_many_files_open) {
      throw std::runtime_error("self() threw: " + thrown.message);
    }
  });
  EXPECT_EQ(test::wait_exit_code(pid), 0);
}

}  // namespace
}  // namespace shmkit
