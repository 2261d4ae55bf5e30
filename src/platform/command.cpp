#include "shmkit/platform/command.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "shmkit/platform/std_fds.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace shmkit::platform {
namespace {

constexpr int kExitCannotRun = 127;  // as sh(1) for a command it cannot run

// While the command runs (see run_command()): the child to forward SIGTERM
// and SIGHUP to, and one that came before it started.
std::atomic<pid_t> g_child{0};
std::atomic<int> g_pending_signal{0};
static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void forward_signal(int sig) {
  const int saved = errno;
  const pid_t child = g_child.load(std::memory_order_relaxed);
  if (child > 0) {
    ::kill(child, sig);  // async-signal-safe
  } else {
    g_pending_signal.store(sig, std::memory_order_relaxed);
  }
  errno = saved;
}

class SignalsWhileRunning {
 public:
  SignalsWhileRunning() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    struct sigaction forward {};
    forward.sa_handler = &forward_signal;
    sigemptyset(&forward.sa_mask);
    forward.sa_flags = SA_RESTART;
    sigemptyset(&reset_in_child_);
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      const bool forwarded = kSignals[i] == SIGTERM || kSignals[i] == SIGHUP;
      ::sigaction(kSignals[i], forwarded ? &forward : &ignore, &previous_[i]);
      // The command gets the dispositions we were given, not ours: a signal
      // ignored by whoever started us stays ignored.
      if (previous_[i].sa_handler != SIG_IGN) sigaddset(&reset_in_child_, kSignals[i]);
    }
    // SIGPIPE as when the program started, not as ignore_sigpipe() left it.
    if (!sigpipe_ignored_at_start()) sigaddset(&reset_in_child_, SIGPIPE);
  }
  SignalsWhileRunning(const SignalsWhileRunning&) = delete;
  SignalsWhileRunning& operator=(const SignalsWhileRunning&) = delete;
  ~SignalsWhileRunning() {
    g_child.store(0, std::memory_order_relaxed);
    for (std::size_t i = 0; i < kSignals.size(); ++i)
      ::sigaction(kSignals[i], &previous_[i], nullptr);
  }
  [[nodiscard]] const sigset_t& reset_in_child() const noexcept { return reset_in_child_; }

 private:
  static constexpr std::array<int, 4> kSignals{SIGINT, SIGQUIT, SIGTERM, SIGHUP};
  std::array<struct sigaction, kSignals.size()> previous_{};
  sigset_t reset_in_child_{};
};

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv) {
  const SignalsWhileRunning signals;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  posix_spawnattr_setsigdefault(&attr, &signals.reset_in_child());
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));  // NOLINT
  args.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return {kExitCannotRun, "cannot run '" + argv[0] + "': " + std::system_category().message(rc)};
  }
  g_child.store(pid, std::memory_order_relaxed);
  if (const int sig = g_pending_signal.exchange(0, std::memory_order_relaxed); sig != 0) {
    ::kill(pid, sig);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return {1, "waiting for '" + argv[0] + "': " + std::system_category().message(errno)};
    }
  }
  if (WIFSIGNALED(status)) return {128 + WTERMSIG(status), {}};
  return {WEXITSTATUS(status), {}};
}

}  // namespace shmkit::platform
