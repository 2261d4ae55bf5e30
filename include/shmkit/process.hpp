#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

// Process: run a function in a child process, the counterpart of Python's
// multiprocessing.Process (start, join, exit status), for fork()-based
// programs. The child runs `target` and exits 0; if it throws, it exits 1,
// prints the exception's message whole to its stderr ("NAME (pid N): MESSAGE";
// for an exception not derived from std::exception, which has none, "unknown
// exception (not derived from std::exception)"), and forwards its first 4000
// bytes to the parent, where check() rethrows it as a shmkit::Error. The child
// never returns into the caller's code.
//
//   shmkit::Process writer([] { /* ... */ }, "writer");
//   writer.start();
//   writer.join();
//   writer.check();   // throws if the writer failed
//
// A Process belongs to the thread that started it; it is move-only. One that
// is destroyed while its child still runs kills the child (SIGKILL) and reaps
// it, so no orphan or zombie is left behind: join() before that.
// fork() in a multi-threaded program copies only the calling thread: the
// target should not rely on other threads or locks they held.

namespace shmkit {

struct ExitStatus {
  int code = 0;    // exit code if the child exited, else 0
  int signal = 0;  // the signal that ended it, else 0
  [[nodiscard]] bool ok() const noexcept { return code == 0 && signal == 0; }
  // "exit code 1", "killed by signal 9 (Killed)"
  [[nodiscard]] std::string describe() const;
};

class Process {
 public:
  explicit Process(std::function<void()> target, std::string name = "process");
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  // Forks the child. Throws shmkit::Error if fork fails or it was started
  // before; std::logic_error if this process ignores SIGCHLD (or set
  // SA_NOCLDWAIT): the kernel would reap the child, and its status be lost.
  void start();
  // Waits for the child to end; returns how it ended. Idempotent once
  // started; shmkit::Error (Errc::not_found) if it was never started.
  ExitStatus join();
  // Waits at most `timeout` (zero or negative: not at all); nullopt if the
  // child still runs. Errc::not_found as join().
  std::optional<ExitStatus> join_for(std::chrono::milliseconds timeout);
  // Throws shmkit::Error (Errc::process_failed) naming the process and how it
  // failed, with the child's exception message if it threw; nothing if it
  // succeeded or was never started. Call after join(): std::logic_error
  // while the child may still run.
  void check() const;

  // SIGTERM (terminate) or SIGKILL (kill) the running child.
  void terminate() noexcept;
  void kill() noexcept;

  [[nodiscard]] bool is_alive();
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Readable once the child has ended (a pidfd), for waiting on several
  // things at once (platform::wait_readable); -1 before start().
  [[nodiscard]] int wait_fd() const noexcept { return pidfd_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::optional<ExitStatus> exit_status() const noexcept { return status_; }

 private:
  void reap(int wait_status);
  void read_failure();
  void release() noexcept;

  std::function<void()> target_;
  std::string name_;
  pid_t pid_ = -1;
  int pidfd_ = -1;         // to wait with a timeout (poll), not a sleep loop
  int failure_pipe_ = -1;  // read end: the child's exception message
  std::string failure_;
  std::optional<ExitStatus> status_;
};

}  // namespace shmkit
