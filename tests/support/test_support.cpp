#include "test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "shmkit/error.hpp"
extern char** environ;  // NOLINT: POSIX global

namespace shmkit::test {

std::string unique_name(std::string_view tag) {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "-" + std::string(tag) + "-" +
         std::to_string(counter.fetch_add(1));
}

ScopedName::ScopedName(std::string_view tag, std::string directory)
    : name_(unique_name(tag)), directory_(std::move(directory)) {
  SegmentOptions options;
  options.directory = directory_;
  Segment::remove(name_, options);
}

ScopedName::~ScopedName() {
  // Remove directly: the file may be garbage written by a test on purpose.
  const std::string dir = platform::resolve_directory(directory_);
  std::error_code ec;
  std::filesystem::remove(dir + "/" + Segment::file_name(name_), ec);
}

pid_t fork_child(const std::function<void()>& body) {
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  int code = 0;
  try {
    body();
  } catch (const std::exception& e) {
    std::cerr << "child " << ::getpid() << ": " << e.what() << '\n';
    code = 1;
  } catch (...) {
    code = 1;
  }
  std::cout.flush();
  std::cerr.flush();
  ::_exit(code);
}

int wait_exit_code(pid_t pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      continue;
    }
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    // A child's exit has no descriptor to wait on here (no pidfd in glibc
    // 2.36's headers); a short sleep bounds the latency of this harness only.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Thrown thrown_by(const std::function<void()>& body) {
  try {
    body();
  } catch (const std::system_error& e) {
    return {e.code(), e.what()};
  }
  return {};
}

bool wait_until_ended(pid_t pid, int timeout_ms) {
  // A signalfd or pidfd would avoid the loop; this harness only bounds the wait.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    siginfo_t info{};
    const int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT | WNOHANG);
    if (rc == 0 && info.si_pid == pid) return true;
    if (rc != 0 && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Pipe::Pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  read_fd_ = fds[0];
  write_fd_ = fds[1];
}

Pipe::~Pipe() {
  ::close(read_fd_);
  ::close(write_fd_);
}

void Pipe::send(std::size_t n) const {
  const std::string bytes(n, 'x');
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(write_fd_, bytes.data() + done, n - done);
    if (w > 0) {
      done += static_cast<std::size_t>(w);
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "pipe write");
    }
  }
}

bool Pipe::receive(int timeout_ms) const {
  // Non-blocking reads: several children may poll one pipe, and a byte one of
  // them saw may be taken by another; the loser polls again.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    char byte = 0;
    const ssize_t r = ::read(read_fd_, &byte, 1);
    if (r == 1) return true;
    if (r == 0 || (errno != EAGAIN && errno != EINTR)) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{read_fd_, POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
  }
}

ParkedChild::ParkedChild()
    : pid_(fork_child([this] {
        if (!release_.receive()) throw std::runtime_error("parked child never released");
      })) {}

ParkedChild::~ParkedChild() {
  // Only a child not yet reaped: a reaped pid may belong to someone else now.
  if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

namespace {
std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return text;
}
}  // namespace

SpawnArgs::SpawnArgs(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env) {
  strings_ = argv;
  for (char** e = environ; *e != nullptr; ++e) strings_.emplace_back(*e);
  strings_.insert(strings_.end(), extra_env.begin(), extra_env.end());
  for (std::size_t i = 0; i < strings_.size(); ++i) {
    (i < argv.size() ? args_ : env_).push_back(strings_[i].data());
  }
  args_.push_back(nullptr);
  env_.push_back(nullptr);
}

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  const SpawnArgs spawn(argv, extra_env);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, spawn.path(), &actions, nullptr, spawn.argv(), spawn.envp());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult result;
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.err = std::string("posix_spawn: ") + std::strerror(rc);
    return result;
  }
  // Read stderr on a thread so neither pipe can fill up and stall the child.
  std::thread err_reader([&] { result.err = read_all(err_pipe[0]); });
  result.out = read_all(out_pipe[0]);
  err_reader.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  result.exit_code = wait_exit_code(pid);
  return result;
}

TmpfsMount::TmpfsMount(std::size_t bytes) {
  char tmpl[] = "/tmp/shmkit-tmpfs-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    reason_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  path_ = tmpl;
  const std::string opts = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
    reason_ = std::string("cannot mount a tmpfs here (") + std::strerror(errno) +
              "); run as root with CAP_SYS_ADMIN to test a full file system";
    return;
  }
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() {
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  if (!path_.empty()) ::rmdir(path_.c_str());
}

NoFreeDescriptors::NoFreeDescriptors() {
  // UBSan (the asan preset) checks the dynamic type of an object it has not
  // seen before through a pipe of its own, which needs two descriptors: let
  // it see a shmkit::Error, as the tests catch one, while it can.
  try {
    throw Error(Errc::corrupt, "seen once");
  } catch (const std::system_error& e) {
    if (!e.code() || e.what() == nullptr) throw;
  }
  if (::getrlimit(RLIMIT_NOFILE, &saved_) != 0) throw std::runtime_error("getrlimit failed");
  rlimit lowered = saved_;
  if (lowered.rlim_cur > 1024) lowered.rlim_cur = 1024;
  if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) throw std::runtime_error("setrlimit failed");
  for (;;) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fds_.push_back(fd);
  }
  if (errno != EMFILE)
    throw std::runtime_error("filling descriptors: " + std::string(strerror(errno)));
}

NoFreeDescriptors::~NoFreeDescriptors() {
  for (const int fd : fds_) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved_);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/shmkit-dir-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> leftovers(const std::string& directory) {
  const std::string prefix = std::string(kFilePrefix) + "t" + std::to_string(::getpid()) + "-";
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) == 0) found.push_back(file);
  }
  return found;
}

void NoLeftovers::TearDown() {
  const std::vector<std::string> found = leftovers();
  std::string list;
  for (const auto& file : found) list += " " + file;
  EXPECT_TRUE(found.empty()) << "left in /dev/shm:" << list;
}

}  // namespace shmkit::test
