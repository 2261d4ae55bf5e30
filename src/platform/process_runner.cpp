// shmkit::Process (include/shmkit/process.hpp): fork, wait, pidfd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "shmkit/error.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/process.hpp"

namespace shmkit {
namespace {

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

void write_all(int fd, const std::string& text) noexcept {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// The most of a child's failure message that is forwarded. At most PIPE_BUF
// bytes, so the write is one atomic write into an empty pipe and can never
// block the dying child (the parent reads only after the child has ended).
constexpr std::size_t kMaxFailureBytes = 4000;

std::string clipped(std::string_view message) {
  if (message.size() <= kMaxFailureBytes) return std::string(message);
  constexpr std::string_view kMore = "... (truncated)";
  return std::string(message.substr(0, kMaxFailureBytes - kMore.size())) + std::string(kMore);
}

// A failed child's report: the message whole on its own stderr, and clipped
// to the parent through the pipe.
void report_failure(const std::string& name, const char* message, int failure_fd) noexcept {
  try {
    write_all(failure_fd, clipped(message));
  } catch (...) {  // NOLINT(bugprone-empty-catch): no memory to clip it; stderr still has it
  }
  std::fprintf(stderr, "%s (pid %d): %s\n", name.c_str(), ::getpid(), message);
}

[[noreturn]] void run_child(const std::function<void()>& target, const std::string& name,
                            int failure_fd) noexcept {
  int code = 0;
  try {
    target();
  } catch (const std::exception& e) {
    report_failure(name, e.what(), failure_fd);
    code = 1;
  } catch (...) {
    // throw 42, throw std::string(...): nothing to ask for a message.
    report_failure(name, "unknown exception (not derived from std::exception)", failure_fd);
    code = 1;
  }
  exit_now(code);  // never run the parent's atexit handlers or return into its code
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signal != 0) {
    return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
  return "exit code " + std::to_string(code);
}

Process::Process(std::function<void()> target, std::string name)
    : target_(std::move(target)), name_(std::move(name)) {}

Process::Process(Process&& other) noexcept
    : target_(std::move(other.target_)),
      name_(std::move(other.name_)),
      pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      failure_pipe_(std::exchange(other.failure_pipe_, -1)),
      failure_(std::move(other.failure_)),
      status_(other.status_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    release();
    target_ = std::move(other.target_);
    name_ = std::move(other.name_);
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    failure_pipe_ = std::exchange(other.failure_pipe_, -1);
    failure_ = std::move(other.failure_);
    status_ = other.status_;
  }
  return *this;
}

Process::~Process() { release(); }

void Process::release() noexcept {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int wait_status = 0;
    while (::waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (failure_pipe_ >= 0) ::close(failure_pipe_);
  pidfd_ = -1;
  failure_pipe_ = -1;
}

void Process::start() {
  if (pid_ > 0) throw Error(Errc::already_exists, "process '" + name_ + "' was already started");
  // With SIGCHLD ignored (or SA_NOCLDWAIT) the kernel reaps the child itself:
  // join() would find no child, its exit status lost, and its pid could be
  // reused by a stranger that kill() then signals.
  struct sigaction chld {};
  if (::sigaction(SIGCHLD, nullptr, &chld) == 0 &&
      (chld.sa_handler == SIG_IGN || (chld.sa_flags & SA_NOCLDWAIT) != 0)) {
    throw std::logic_error("process '" + name_ +
                           "': SIGCHLD is ignored (or SA_NOCLDWAIT set) in this process, so the "
                           "child's exit status would be lost; restore SIGCHLD's default action "
                           "before start()");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe for process '" + name_ + "'");
  std::fflush(stdout);  // or the child would print the parent's buffered output again
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw_errno(err, "fork process '" + name_ + "'");
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(target_, name_, fds[1]);
  }
  ::close(fds[1]);
  // Non-blocking: read_failure() runs once the child has ended and takes what
  // it wrote; a grandchild that inherited the write end must not make it wait.
  (void)::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  pid_ = pid;
  failure_pipe_ = fds[0];
  pidfd_ = pidfd_open(pid);  // -1 on kernels before 5.3: join_for then cannot time out early
}

void Process::reap(int wait_status) {
  ExitStatus status;
  if (WIFEXITED(wait_status)) status.code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) status.signal = WTERMSIG(wait_status);
  status_ = status;
  read_failure();
}

void Process::read_failure() {
  if (failure_pipe_ < 0) return;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(failure_pipe_, buf, sizeof buf);
    if (n > 0) {
      failure_.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;  // end of file, or EAGAIN: everything the child wrote is read
    }
  }
  ::close(failure_pipe_);
  failure_pipe_ = -1;
}

ExitStatus Process::join() {
  if (status_) return *status_;
  if (pid_ <= 0) throw Error(Errc::not_found, "process '" + name_ + "' was not started");
  int wait_status = 0;
  while (::waitpid(pid_, &wait_status, 0) < 0) {
    if (errno != EINTR) throw_errno(errno, "waitpid process '" + name_ + "'");
  }
  reap(wait_status);
  return *status_;
}

std::optional<ExitStatus> Process::join_for(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) throw Error(Errc::not_found, "process '" + name_ + "' was not started");
  if (pidfd_ >= 0) {
    pollfd pfd{pidfd_, POLLIN, 0};
    // A negative timeout (a deadline already past) means "do not wait": poll()
    // would take it as "forever". Over INT_MAX ms (24 days) is capped.
    const auto ms = std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0, INT_MAX);
    int rc = 0;
    do {
      rc = ::poll(&pfd, 1, static_cast<int>(ms));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return std::nullopt;
  }
  int wait_status = 0;
  const pid_t r = ::waitpid(pid_, &wait_status, pidfd_ >= 0 ? 0 : WNOHANG);
  if (r == 0) return std::nullopt;
  if (r < 0) throw_errno(errno, "waitpid process '" + name_ + "'");
  reap(wait_status);
  return status_;
}

void Process::check() const {
  if (!status_ && pid_ > 0) {
    throw std::logic_error("process '" + name_ + "' (pid " + std::to_string(pid_) +
                           "): check() before join()");
  }
  if (!status_ || status_->ok()) return;
  std::string what =
      "process '" + name_ + "' (pid " + std::to_string(pid_) + ") failed: " + status_->describe();
  if (!failure_.empty()) what += ": " + failure_;
  // Verbatim: it says "failed" already, and a ": process failed" suffix would
  // repeat it, once more for each level of a child forwarding its own check().
  throw Error::verbatim(Errc::process_failed, what);
}

void Process::terminate() noexcept {
  if (pid_ > 0 && !status_) ::kill(pid_, SIGTERM);
}

void Process::kill() noexcept {
  if (pid_ > 0 && !status_) ::kill(pid_, SIGKILL);
}

bool Process::is_alive() {
  if (pid_ <= 0 || status_) return false;
  return !join_for(std::chrono::milliseconds(0)).has_value();
}

}  // namespace shmkit
