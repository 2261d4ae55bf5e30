#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

// Helpers of the end-to-end tests of the shmkit tool: a command run in the
// background whose output the test watches as it comes, and a bounded wait for
// a condition. Not thread-safe: one test thread drives each object.

namespace shmkit::test {

// The tool under test.
inline constexpr const char* kCli = SHMKIT_CLI_PATH;

// A command started in the background, in a process group of its own, with
// stdout and stderr captured (and stdin from a pipe the test writes, or from
// /dev/null). The destructor kills its process group (SIGKILL) and reaps it if
// it still runs. Its output must not be held open by processes of its own that
// outlive it, or finish() waits for them.
class Spawned {
 public:
  explicit Spawned(const std::vector<std::string>& argv, bool with_stdin = false,
                   const std::vector<std::string>& extra_env = {});
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;
  ~Spawned();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Waits until its stdout contains `text` (true), or `timeout_ms` passes or
  // stdout ends without it (false).
  bool wait_for_output(const std::string& text, int timeout_ms = 60'000);
  [[nodiscard]] std::string output() const;
  void write_stdin(const std::string& bytes);
  void close_stdin();
  // Waits for it to end (killing it after `timeout_ms`: exit code -1) and
  // returns its exit code (128 + N for signal N) and everything it printed.
  CommandResult finish(int timeout_ms = 60'000);

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  bool finished_ = false;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_;
  std::string err_;
  bool out_closed_ = false;
  std::thread out_reader_;
  std::thread err_reader_;
};

// Runs `argv` with stdout a pipe whose reader has gone (its read end closed
// before the command starts, as after 'cmd | head -1' once head exited),
// stdin /dev/null and SIGPIPE at its default action whatever this test was
// given. Returns its exit code (128 + N for signal N) and stderr (out is "").
CommandResult run_into_closed_pipe(const std::vector<std::string>& argv);

// Calls `done` every few milliseconds until it is true (true) or `timeout_ms`
// passes (false): for conditions that have no event to wait on, such as
// another process's state in shared memory.
bool eventually(const std::function<bool()>& done, int timeout_ms = 60'000);

// The lines of `text` (each without its newline).
std::vector<std::string> split_lines(const std::string& text);

// The contents of the file at `path` ("" if there is none).
std::string read_file(const std::string& path);

}  // namespace shmkit::test
