#include "cli_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace shmkit::test {
namespace {

// Reads `fd` to its end, appending to `into` under `mutex`, notifying `cv`.
void pump(int fd, std::string& into, bool* closed, std::mutex& mutex, std::condition_variable& cv) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const std::lock_guard lock(mutex);
    into.append(buf, static_cast<std::size_t>(n));
    cv.notify_all();
  }
  ::close(fd);
  const std::lock_guard lock(mutex);
  if (closed != nullptr) *closed = true;
  cv.notify_all();
}

}  // namespace

Spawned::Spawned(const std::vector<std::string>& argv, bool with_stdin,
                 const std::vector<std::string>& extra_env) {
  int out_pipe[2];
  int err_pipe[2];
  int in_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      (with_stdin && ::pipe2(in_pipe, O_CLOEXEC) != 0)) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (with_stdin) {
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  const SpawnArgs spawn(argv, extra_env);
  // A process group of its own: the destructor kills what it started too.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  const int rc = ::posix_spawn(&pid_, spawn.path(), &actions, &attr, spawn.argv(), spawn.envp());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (with_stdin) {
    ::close(in_pipe[0]);
    stdin_fd_ = in_pipe[1];
  }
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
  }
  out_reader_ = std::thread(pump, out_pipe[0], std::ref(out_), &out_closed_, std::ref(mutex_),
                            std::ref(changed_));
  err_reader_ =
      std::thread(pump, err_pipe[0], std::ref(err_), nullptr, std::ref(mutex_), std::ref(changed_));
}

Spawned::~Spawned() {
  if (!finished_) {
    ::kill(-pid_, SIGKILL);  // its process group: it and any children it left
    finish();
  }
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
}

bool Spawned::wait_for_output(const std::string& text, int timeout_ms) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return out_.find(text) != std::string::npos || out_closed_;
  }) && out_.find(text) != std::string::npos;
}

std::string Spawned::output() const {
  const std::lock_guard lock(mutex_);
  return out_;
}

void Spawned::write_stdin(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(stdin_fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("write to the child's stdin failed");
    done += static_cast<std::size_t>(n);
  }
}

void Spawned::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

CommandResult Spawned::finish(int timeout_ms) {
  CommandResult result;
  result.exit_code = wait_exit_code(pid_, timeout_ms);
  finished_ = true;
  close_stdin();
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
  const std::lock_guard lock(mutex_);
  result.out = out_;
  result.err = err_;
  return result;
}

CommandResult run_into_closed_pipe(const std::vector<std::string>& argv) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  ::close(out_pipe[0]);  // no reader: a write is EPIPE, or SIGPIPE
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &sigpipe);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  const SpawnArgs spawn(argv, {});
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, spawn.path(), &actions, &attr, spawn.argv(), spawn.envp());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult result;
  if (rc != 0) {
    ::close(err_pipe[0]);
    throw std::runtime_error(std::string("posix_spawn: ") + std::strerror(rc));
  }
  std::mutex mutex;
  std::condition_variable unused;
  pump(err_pipe[0], result.err, nullptr, mutex, unused);  // closes it
  result.exit_code = wait_exit_code(pid);
  return result;
}

bool eventually(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

}  // namespace shmkit::test
