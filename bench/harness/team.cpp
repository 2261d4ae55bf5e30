#include "harness/team.hpp"

#include <alloca.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>

#include "harness/clock.hpp"

namespace shmkit::bench {
namespace {

// The children the watchdog kills. Written by the main process only, read by
// its SIGALRM handler (lock-free atomics are async-signal-safe).
constexpr std::size_t kMaxWatched = 64;
std::array<std::atomic<pid_t>, kMaxWatched> g_watched{};
std::atomic<bool> g_watchdog_fired{false};

extern "C" void on_alarm(int /*signal*/) {
  g_watchdog_fired.store(true, std::memory_order_relaxed);
  for (auto& pid : g_watched) {
    const pid_t p = pid.load(std::memory_order_relaxed);
    if (p > 0) ::kill(p, SIGKILL);
  }
}

void watch(pid_t pid) noexcept {
  for (auto& slot : g_watched) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void unwatch(pid_t pid) noexcept {
  for (auto& slot : g_watched) {
    pid_t p = pid;
    slot.compare_exchange_strong(p, 0);
  }
}

std::string exit_description(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
  }
  return "ended oddly (wait status " + std::to_string(status) + ")";
}

std::string read_message(int fd) {
  std::string text;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return text;
}

[[noreturn]] void child_main(int cpu, int message_fd, pid_t parent, std::size_t stack_shift,
                             const std::function<void()>& body) {
  // Die with the main process; and if it is already gone, do not run at all.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
  // The main process's cleanup handlers are not ours.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGHUP, SIG_DFL);
  ::signal(SIGALRM, SIG_DFL);
  // The frames below start stack_shift bytes lower (the asm keeps the
  // otherwise unused block from being optimised away).
  void* shift = alloca(stack_shift + 1);
  asm volatile("" : : "r"(shift) : "memory");
  int code = 0;
  try {
    if (cpu >= 0) pin_to_cpu(cpu);
    body();
  } catch (const std::exception& e) {
    const std::string text = e.what();
    // One write below PIPE_BUF bytes: never blocks, never interleaves.
    const std::size_t n = std::min<std::size_t>(text.size(), PIPE_BUF - 1);
    [[maybe_unused]] const ssize_t w = ::write(message_fd, text.data(), n);
    code = 1;
  } catch (...) {
    code = 1;
  }
  ::_exit(code);
}

}  // namespace

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) {
    throw CaseFailure("cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(errno));
  }
}

void install_watchdog() {
  struct sigaction sa {};
  sa.sa_handler = &on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: waitpid returns EINTR, then reaps the killed
  ::sigaction(SIGALRM, &sa, nullptr);
}

Team::~Team() {
  for (const Child& c : children_) {
    if (c.pid > 0) {
      ::kill(c.pid, SIGKILL);
      int status = 0;
      while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
      }
      unwatch(c.pid);
    }
    ::close(c.message_fd);
  }
}

void Team::spawn(int role, std::function<void()> body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw CaseFailure(std::string("pipe: ") + std::strerror(errno));
  }
  const int cpu = cpus_.empty() ? -1 : cpus_[static_cast<std::size_t>(role) % cpus_.size()];
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw CaseFailure(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(cpu, fds[1], parent, stack_shift_, body);
  }
  ::close(fds[1]);
  watch(pid);
  children_.push_back(Child{pid, role, cpu, fds[0]});
}

void Team::join() {
  g_watchdog_fired.store(false, std::memory_order_relaxed);
  ::alarm(static_cast<unsigned>(watchdog_.count()));
  std::string failures;
  bool killed_rest = false;
  std::size_t remaining = children_.size();
  while (remaining > 0) {
    int status = 0;
    const pid_t r = ::waitpid(-1, &status, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      failures += std::string(failures.empty() ? "" : "; ") + "waitpid: " + std::strerror(errno);
      break;
    }
    Child* c = nullptr;
    for (Child& candidate : children_) {
      if (candidate.pid == r) c = &candidate;
    }
    if (c == nullptr) continue;  // not one of ours
    --remaining;
    unwatch(c->pid);
    c->pid = -1;
    const std::string message = read_message(c->message_fd);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    const bool ours = killed_rest && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (ok || ours) continue;
    std::string what = "process role " + std::to_string(c->role) +
                       (c->cpu >= 0 ? " (cpu " + std::to_string(c->cpu) + ")" : std::string()) +
                       ": " + (message.empty() ? exit_description(status) : message);
    failures += (failures.empty() ? "" : "; ") + what;
    // Its peers may wait for it forever: stop them now.
    for (const Child& other : children_) {
      if (other.pid > 0) ::kill(other.pid, SIGKILL);
    }
    killed_rest = true;
  }
  ::alarm(0);
  for (const Child& c : children_) ::close(c.message_fd);
  children_.clear();
  if (g_watchdog_fired.load(std::memory_order_relaxed)) {
    throw CaseFailure("watchdog: the processes of one repetition ran past " +
                      std::to_string(watchdog_.count()) + " s and were killed" +
                      (failures.empty() ? std::string() : " (" + failures + ")"));
  }
  if (!failures.empty()) throw CaseFailure(failures);
}

void SpinWait::yield() noexcept { ::sched_yield(); }

TimeBox::TimeBox(std::chrono::nanoseconds duration, std::uint32_t every,
                 std::size_t min_count) noexcept
    : start_(now_ns()),
      end_(start_ + duration.count()),
      hard_end_(start_ + 4 * duration.count()),
      min_count_(min_count),
      every_(every == 0 ? 1 : every) {}

bool TimeBox::check(std::size_t count) const noexcept {
  const std::int64_t now = now_ns();
  return (now >= end_ && count >= min_count_) || now >= hard_end_;
}

}  // namespace shmkit::bench
