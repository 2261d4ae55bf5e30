#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/segment.hpp"

// Helpers shared by the tests: unique object names, forked children and their
// exit codes, and a private tmpfs. Every test names its objects with
// unique_name() and removes them (ScopedName does it even when the test fails).

namespace shmkit::test {

// "t<pid>-<tag>-<n>": unique per process and call, valid as an object name.
std::string unique_name(std::string_view tag);

// Removes the object NAME (in `directory`, default as usual) on destruction.
class ScopedName {
 public:
  explicit ScopedName(std::string_view tag, std::string directory = {});
  ScopedName(const ScopedName&) = delete;
  ScopedName& operator=(const ScopedName&) = delete;
  ~ScopedName();
  [[nodiscard]] const std::string& str() const noexcept { return name_; }
  operator std::string_view() const noexcept { return name_; }  // NOLINT: reads like a name

 private:
  std::string name_;
  std::string directory_;
};

// Runs `body` in a forked child, which exits with 0 if it returned, 1 if it
// threw (the message goes to stderr). Never returns into gtest in the child.
pid_t fork_child(const std::function<void()>& body);

// Waits for `pid`; returns its exit code, or 128 + signal if a signal ended it,
// or -1 if it did not end within `timeout_ms` (it is then killed).
int wait_exit_code(pid_t pid, int timeout_ms = 60'000);

// What wait_exit_code() returns for a child that SIGKILL ended.
inline constexpr int kKilled = 128 + SIGKILL;

// Kills and reaps, on scope exit, a forked child that would otherwise run on
// (one that loops until killed) when a test returns early on a failed ASSERT.
class KillOnExit {
 public:
  explicit KillOnExit(pid_t pid) : pid_(pid) {}
  KillOnExit(const KillOnExit&) = delete;
  KillOnExit& operator=(const KillOnExit&) = delete;
  ~KillOnExit() {
    // Only a child not yet reaped: a reaped pid may belong to someone else now.
    if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_;
};

// What `body` threw: the code and what() of a std::system_error (shmkit::Error
// is one); code is {} if it threw nothing. Other exceptions propagate.
struct Thrown {
  std::error_code code;
  std::string message;
};
Thrown thrown_by(const std::function<void()>& body);

// Waits, without reaping it, until the child `pid` has ended (it is then a
// zombie until wait_exit_code() reaps it). False if it has not within timeout_ms.
bool wait_until_ended(pid_t pid, int timeout_ms = 60'000);

// A pipe for one-byte signals between a test and the children it forks.
// send(n) writes n bytes; receive() takes one, waiting at most timeout_ms, and
// is false if none came. As a start gate: each child receive()s, and the
// parent send(n)s once all n are forked, so they start together.
class Pipe {
 public:
  Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe();
  void send(std::size_t n = 1) const;
  [[nodiscard]] bool receive(int timeout_ms = 60'000) const;

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

// A forked child that only waits to be released (then exits 0): a live process
// for tests of liveness. The destructor kills and reaps it unless it was reaped.
class ParkedChild {
 public:
  ParkedChild();
  ParkedChild(const ParkedChild&) = delete;
  ParkedChild& operator=(const ParkedChild&) = delete;
  ~ParkedChild();
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  void release() const { release_.send(); }

 private:
  Pipe release_;
  pid_t pid_;
};

// `argv` and this process's environment plus `extra_env` ("NAME=value"), as
// the null-terminated arrays posix_spawn() takes. They point into strings
// this object owns: it stays where it was made.
class SpawnArgs {
 public:
  SpawnArgs(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env);
  SpawnArgs(const SpawnArgs&) = delete;
  SpawnArgs& operator=(const SpawnArgs&) = delete;
  [[nodiscard]] const char* path() const noexcept { return args_[0]; }
  [[nodiscard]] char* const* argv() const noexcept { return args_.data(); }
  [[nodiscard]] char* const* envp() const noexcept { return env_.data(); }

 private:
  std::vector<std::string> strings_;  // argv, then the environment
  std::vector<char*> args_;
  std::vector<char*> env_;
};

// Runs `argv` (argv[0] a path) with stdout and stderr captured.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env = {});

// A small tmpfs mounted in a fresh temporary directory, unmounted and removed
// on destruction. If mounting is not allowed here, ok() is false and reason()
// says why: the test should GTEST_SKIP() << reason().
class TmpfsMount {
 public:
  explicit TmpfsMount(std::size_t bytes);
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  ~TmpfsMount();
  [[nodiscard]] bool ok() const noexcept { return mounted_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  std::string reason_;
  bool mounted_ = false;
};

// A fresh empty directory under /tmp (not a tmpfs of its own), removed with its
// files on destruction: for tests that need an object directory nobody else uses.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// While it lives, this process can open no file: every descriptor up to
// RLIMIT_NOFILE (first lowered to at most 1024) is in use, so open() fails
// with EMFILE, as in a process that leaks descriptors. The destructor closes
// what it opened and restores the limit.
class NoFreeDescriptors {
 public:
  NoFreeDescriptors();
  NoFreeDescriptors(const NoFreeDescriptors&) = delete;
  NoFreeDescriptors& operator=(const NoFreeDescriptors&) = delete;
  ~NoFreeDescriptors();

 private:
  std::vector<int> fds_;
  rlimit saved_{};
};

// Names of the shmkit.* files in `directory` (default /dev/shm) that this test
// process created (their names start with "t<pid>-").
std::vector<std::string> leftovers(const std::string& directory = "/dev/shm");

// A global environment that fails the run if a test left objects of this
// process in /dev/shm. Register it once per test program:
//   const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);
class NoLeftovers : public ::testing::Environment {
 public:
  void TearDown() override;
};

}  // namespace shmkit::test
