// shmkit::Process, the counterpart of multiprocessing.Process: start, join,
// exit status, forwarding of a child's failure, timeouts, and no child left
// behind (running or zombie).
#include "shmkit/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "list_test_util.hpp"
#include "shmkit/error.hpp"
#include "shmkit/list.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

// True if `pid` is no child of ours any more (reaped: no zombie left).
bool reaped(pid_t pid) {
  errno = 0;
  return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

// What check() throws, as (code, what()); empty what() if nothing.
test::Thrown check_of(const Process& p) {
  try {
    p.check();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {};
}

TEST(Process, StartRunsTheTargetInAChildAndJoinReturnsExitCodeZero) {
  const test::Pipe ran;
  const pid_t parent = ::getpid();
  Process p([&] { ran.send(::getpid() != parent ? 1 : 2); }, "worker");
  EXPECT_EQ(p.name(), "worker");
  EXPECT_EQ(p.pid(), -1);
  EXPECT_EQ(p.wait_fd(), -1);
  EXPECT_FALSE(p.exit_status().has_value());
  p.start();
  EXPECT_GT(p.pid(), 0);
  EXPECT_NE(p.pid(), parent);
  const ExitStatus status = p.join();
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code, 0);
  EXPECT_EQ(status.signal, 0);
  EXPECT_EQ(status.describe(), "exit code 0");
  EXPECT_TRUE(ran.receive());
  EXPECT_FALSE(ran.receive(0));  // exactly one byte: the target ran in the child only
  EXPECT_NO_THROW(p.check());
  EXPECT_TRUE(reaped(p.pid()));
}

TEST(Process, JoinIsIdempotentAndTheExitStatusIsKept) {
  Process p([] { ::_exit(3); });
  p.start();
  const ExitStatus first = p.join();
  const ExitStatus second = p.join();
  EXPECT_EQ(first.code, 3);
  EXPECT_EQ(second.code, 3);
  EXPECT_FALSE(first.ok());
  ASSERT_TRUE(p.exit_status().has_value());
  EXPECT_EQ(p.exit_status()->code, 3);
  ASSERT_TRUE(p.join_for(0ms).has_value());
  EXPECT_EQ(p.join_for(0ms)->code, 3);
  EXPECT_FALSE(p.is_alive());
  const test::Thrown t = check_of(p);
  EXPECT_EQ(t.code, test::code_of(Errc::process_failed)) << t.message;
  EXPECT_NE(t.message.find("exit code 3"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("'process'"), std::string::npos) << t.message;  // the default name
}

TEST(Process, AChildThatThrowsExitsOneAndCheckRethrowsItsMessageAndName) {
  Process p([] { throw std::runtime_error("the disk is on fire"); }, "writer-7");
  p.start();
  const ExitStatus status = p.join();
  EXPECT_EQ(status.code, 1);
  EXPECT_EQ(status.signal, 0);
  const test::Thrown t = check_of(p);
  EXPECT_EQ(t.code, test::code_of(Errc::process_failed)) << t.message;
  EXPECT_NE(t.message.find("the disk is on fire"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("writer-7"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find(std::to_string(p.pid())), std::string::npos) << t.message;
}

TEST(Process, AChildThatThrowsAShmkitErrorForwardsItsMessage) {
  const test::ScopedList name("proc-missing");
  Process p([&] { (void)List<int>::open(name); }, "opener");
  p.start();
  EXPECT_EQ(p.join().code, 1);
  const test::Thrown t = check_of(p);
  EXPECT_NE(t.message.find(name.str()), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("opener"), std::string::npos) << t.message;
}

TEST(Process, AChildThatThrowsANonStandardExceptionIsReportedAsUnknown) {
  Process p([] { throw 42; }, "odd");
  p.start();
  EXPECT_EQ(p.join().code, 1);
  const test::Thrown t = check_of(p);
  EXPECT_NE(t.message.find("unknown exception"), std::string::npos) << t.message;
}

// check() says "failed" once: not again in a suffix, and not twice more for a
// child that forwards a failed Process of its own.
TEST(Process, CheckSaysTheProcessFailedOnceEvenWhenTheFailureIsNested) {
  Process plain([] { ::_exit(3); }, "plain");
  plain.start();
  (void)plain.join();
  const test::Thrown t = check_of(plain);
  EXPECT_EQ(t.code, test::code_of(Errc::process_failed)) << t.message;
  EXPECT_EQ(t.message,
            "process 'plain' (pid " + std::to_string(plain.pid()) + ") failed: exit code 3");

  Process outer(
      [] {
        const int devnull = ::open("/dev/null", O_WRONLY);  // keep the reports out of the log
        if (devnull >= 0) ::dup2(devnull, STDERR_FILENO);
        Process inner([] { throw std::runtime_error("inner fail"); }, "inner");
        inner.start();
        (void)inner.join();
        inner.check();
      },
      "outer");
  outer.start();
  (void)outer.join();
  const test::Thrown nested = check_of(outer);
  EXPECT_EQ(nested.code, test::code_of(Errc::process_failed)) << nested.message;
  const std::string head = "process 'outer' (pid " + std::to_string(outer.pid()) +
                           ") failed: exit code 1: process 'inner' (pid ";
  EXPECT_EQ(nested.message.substr(0, head.size()), head) << nested.message;
  const std::string tail = ") failed: exit code 1: inner fail";
  ASSERT_GE(nested.message.size(), tail.size()) << nested.message;
  EXPECT_EQ(nested.message.substr(nested.message.size() - tail.size()), tail) << nested.message;
}

// What the child of `p` writes to its stderr until it ends; `p` is started and
// joined here.
std::string child_stderr(Process& p) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(fds[1], STDERR_FILENO);  // the child inherits it as its stderr
  p.start();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fds[1]);
  (void)p.join();
  std::string text;
  char buf[256];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  return text;
}

TEST(Process, AChildThatThrowsPrintsTheMessageToItsStderr) {
  Process p([] { throw std::runtime_error("the disk is on fire"); }, "writer-7");
  const std::string text = child_stderr(p);
  EXPECT_EQ(text, "writer-7 (pid " + std::to_string(p.pid()) + "): the disk is on fire\n");
}

TEST(Process, AChildThatThrowsANonStandardExceptionSaysSoOnItsStderr) {
  for (const auto& thrower : std::vector<std::function<void()>>{
           [] { throw 42; }, [] { throw std::string("a string"); }}) {
    Process p(thrower, "odd");
    const std::string text = child_stderr(p);
    EXPECT_EQ(text, "odd (pid " + std::to_string(p.pid()) +
                        "): unknown exception (not derived from std::exception)\n");
    const test::Thrown t = check_of(p);
    EXPECT_NE(t.message.find("unknown exception (not derived from std::exception)"),
              std::string::npos)
        << t.message;
  }
}

// The child's message travels through a pipe: one longer than the pipe's
// buffer must neither block the child (and so the parent's join) nor be lost
// entirely.
TEST(Process, AChildFailingWithAHugeMessageIsJoinedAndReported) {
  const std::string huge = "start-of-message " + std::string(1 << 20, 'x');
  Process p(
      [&] {
        // Keep the child's own report of it (on stderr) out of the test log.
        const int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0) ::dup2(devnull, STDERR_FILENO);
        throw std::runtime_error(huge);
      },
      "verbose");
  p.start();
  const std::optional<ExitStatus> status = p.join_for(std::chrono::milliseconds(test::kGenerousMs));
  ASSERT_TRUE(status.has_value()) << "the child is stuck writing its message";
  EXPECT_EQ(status->code, 1);
  const test::Thrown t = check_of(p);
  EXPECT_NE(t.message.find("start-of-message"), std::string::npos) << t.message.substr(0, 200);
  EXPECT_NE(t.message.find("verbose"), std::string::npos) << t.message.substr(0, 200);
}

// A grandchild that outlives the child inherits the child's end of the
// failure pipe; join() must not wait for the grandchild as well.
TEST(Process, JoinDoesNotWaitForAGrandchildThatOutlivesTheChild) {
  const test::Pipe release;
  const test::Pipe answered;
  Process p(
      [&] {
        // The grandchild waits (bounded) to be released, then answers.
        (void)test::fork_child([&] {
          if (release.receive(test::kGenerousMs)) answered.send();
        });
      },
      "parent-of-grandchild");
  p.start();
  const std::optional<ExitStatus> status = p.join_for(std::chrono::milliseconds(test::kGenerousMs));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok());
  // The grandchild still runs now: join did not wait for it to end.
  release.send();
  EXPECT_TRUE(answered.receive());
}

TEST(Process, AChildKilledByASignalReportsTheSignal) {
  const test::Pipe started;
  const test::Pipe never;
  Process p(
      [&] {
        started.send();
        (void)never.receive(test::kGenerousMs);
      },
      "victim");
  p.start();
  ASSERT_TRUE(started.receive());
  EXPECT_TRUE(p.is_alive());
  p.kill();
  const ExitStatus status = p.join();
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_EQ(status.code, 0);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.describe().find("signal 9"), std::string::npos) << status.describe();
  const test::Thrown t = check_of(p);
  EXPECT_NE(t.message.find("victim"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("signal 9"), std::string::npos) << t.message;
  EXPECT_FALSE(p.is_alive());
  p.kill();  // after the end: nothing to do, no other process hit
}

TEST(Process, TerminateEndsTheChildWithSigterm) {
  const test::Pipe started;
  const test::Pipe never;
  Process p([&] {
    started.send();
    (void)never.receive(test::kGenerousMs);
  });
  p.start();
  ASSERT_TRUE(started.receive());
  p.terminate();
  EXPECT_EQ(p.join().signal, SIGTERM);
}

TEST(Process, AChildThatRaisesASignalItselfReportsIt) {
  Process p([] { ::raise(SIGABRT); });
  p.start();
  EXPECT_EQ(p.join().signal, SIGABRT);
}

TEST(Process, JoinForReturnsNulloptWhileTheChildRunsThenItsStatus) {
  const test::Pipe release;
  Process p([&] {
    if (!release.receive(test::kGenerousMs)) ::_exit(9);
    ::_exit(5);
  });
  p.start();
  EXPECT_FALSE(p.join_for(0ms).has_value());
  EXPECT_FALSE(p.join_for(10ms).has_value());
  EXPECT_TRUE(p.is_alive());
  EXPECT_FALSE(p.exit_status().has_value());
  release.send();
  const std::optional<ExitStatus> status = p.join_for(std::chrono::milliseconds(test::kGenerousMs));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 5);
  EXPECT_FALSE(p.is_alive());
  EXPECT_TRUE(reaped(p.pid()));
}

// A timeout computed as "deadline - now" may come out negative: that is "do
// not wait", never "wait forever".
TEST(Process, JoinForWithANegativeTimeoutDoesNotWait) {
  const test::Pipe release;
  Process p([&] { (void)release.receive(test::kGenerousMs); });
  p.start();
  auto result = std::async(std::launch::async, [&] { return p.join_for(-5ms); });
  const bool returned =
      result.wait_for(std::chrono::milliseconds(test::kGenerousMs)) == std::future_status::ready;
  release.send();  // frees a join_for stuck in poll(-1) either way
  EXPECT_TRUE(returned) << "join_for(-5ms) blocked";
  result.wait();
  if (returned) {
    EXPECT_FALSE(result.get().has_value());
  }
  EXPECT_TRUE(p.join().ok());
}

TEST(Process, WaitFdBecomesReadableWhenTheChildEnds) {
  const test::Pipe release;
  Process p([&] { (void)release.receive(test::kGenerousMs); });
  p.start();
  ASSERT_GE(p.wait_fd(), 0);
  pollfd pfd{p.wait_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 0), 0);
  release.send();
  EXPECT_EQ(::poll(&pfd, 1, test::kGenerousMs), 1);
  EXPECT_TRUE(p.join().ok());
}

TEST(Process, DestroyingARunningProcessKillsAndReapsIt) {
  const test::Pipe started;
  const test::Pipe never;
  pid_t pid = -1;
  {
    Process p([&] {
      started.send();
      (void)never.receive(test::kGenerousMs);
    });
    p.start();
    pid = p.pid();
    ASSERT_TRUE(started.receive());
    EXPECT_TRUE(p.is_alive());
  }
  EXPECT_TRUE(reaped(pid)) << "child " << pid << " left running or as a zombie";
}

TEST(Process, DestroyingAJoinedOrNeverStartedProcessDoesNothing) {
  {
    const Process never_started([] {});
  }
  pid_t pid = -1;
  {
    Process p([] {});
    p.start();
    pid = p.pid();
    EXPECT_TRUE(p.join().ok());
  }
  EXPECT_TRUE(reaped(pid));
}

TEST(Process, StartingTwiceOrJoiningBeforeStartThrows) {
  Process p([] {});
  EXPECT_THROW((void)p.join(), Error);
  EXPECT_THROW((void)p.join_for(0ms), Error);
  EXPECT_FALSE(p.is_alive());
  EXPECT_NO_THROW(p.check());  // nothing to report yet
  p.start();
  const test::Thrown t = test::thrown_by([&] { p.start(); });
  EXPECT_TRUE(t.code);
  EXPECT_NE(t.message.find("process"), std::string::npos) << t.message;
  EXPECT_THROW(p.check(), std::logic_error);  // before join(): it may still run
  EXPECT_TRUE(p.join().ok());
  EXPECT_NO_THROW(p.check());
  EXPECT_THROW(p.start(), Error);  // a Process runs once, as in Python
}

// With SIGCHLD ignored the kernel would reap the child: join() would find no
// child and the exit status be lost. start() refuses, and starts nothing.
TEST(Process, StartRefusesWhenSigchldIsIgnored) {
  for (const bool no_cld_wait : {false, true}) {
    struct sigaction ignore {};
    struct sigaction saved {};
    ignore.sa_handler = no_cld_wait ? SIG_DFL : SIG_IGN;
    ignore.sa_flags = no_cld_wait ? SA_NOCLDWAIT : 0;
    ASSERT_EQ(::sigaction(SIGCHLD, &ignore, &saved), 0);
    Process p([] {});
    std::string message;
    try {
      p.start();
    } catch (const std::logic_error& e) {
      message = e.what();
    }
    ::sigaction(SIGCHLD, &saved, nullptr);
    EXPECT_NE(message.find("SIGCHLD is ignored"), std::string::npos) << message;
    EXPECT_EQ(p.pid(), -1);
    p.start();  // with SIGCHLD's default action back
    EXPECT_TRUE(p.join().ok());
  }
}

TEST(Process, MovingAProcessMovesItsChild) {
  const test::Pipe release;
  Process a([&] { (void)release.receive(test::kGenerousMs); }, "moved");
  a.start();
  const pid_t pid = a.pid();
  Process b(std::move(a));
  EXPECT_EQ(b.pid(), pid);
  EXPECT_EQ(b.name(), "moved");
  EXPECT_EQ(a.pid(), -1);  // NOLINT(bugprone-use-after-move): checks the moved-from state
  Process c([] {});
  c = std::move(b);
  EXPECT_EQ(c.pid(), pid);
  release.send();
  EXPECT_TRUE(c.join().ok());
  EXPECT_TRUE(reaped(pid));
}

TEST(Process, MoveAssigningOverARunningProcessKillsAndReapsItsChild) {
  const test::Pipe never;
  Process running([&] { (void)never.receive(test::kGenerousMs); });
  running.start();
  const pid_t old_pid = running.pid();
  running = Process([] {});
  EXPECT_TRUE(reaped(old_pid));
  EXPECT_EQ(running.pid(), -1);
  running.start();
  EXPECT_TRUE(running.join().ok());
}

// The scenario shmkit was born from: a writer and a reader process sharing
// nothing but the list's name.
TEST(Process, AWriterAndAReaderProcessShareAListByName) {
  const test::ScopedList name("proc-list");
  Process writer(
      [&] {
        auto list = List<int>::open_or_create(name);
        for (int i = 0; i < 5; ++i) list.append(i);
        list.close();
      },
      "writer");
  Process reader(
      [&] {
        const auto list = List<int>::open_waiting(name, test::kGenerous);
        int expected = 0;
        for (std::uint64_t i = 0; list.wait_for_size(i + 1, test::kGenerous); ++i) {
          if (list[i] != expected++) throw std::runtime_error("wrong item " + std::to_string(i));
        }
        if (expected != 5) throw std::runtime_error("read " + std::to_string(expected) + " items");
      },
      "reader");
  reader.start();
  writer.start();
  EXPECT_TRUE(writer.join().ok());
  EXPECT_TRUE(reader.join().ok());
  EXPECT_NO_THROW(writer.check());
  EXPECT_NO_THROW(reader.check());
}

}  // namespace
}  // namespace shmkit
