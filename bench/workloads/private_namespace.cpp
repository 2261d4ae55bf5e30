#include "workloads/private_namespace.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <string_view>

#include "harness/context.hpp"

namespace shmkit::bench {
namespace {

using Clock = std::chrono::steady_clock;

// One datagram of a SOCK_SEQPACKET pair each way: a request from the main
// process, an outcome from the host. Datagrams keep their boundaries, and
// send(MSG_NOSIGNAL) to a host that died is an error, not a SIGPIPE.
struct Request {
  std::uint32_t value;
};

enum class Outcome : std::int32_t { ok, skipped, failed };

struct Reply {
  Outcome outcome;
  char text[2044];  // NUL-terminated
};

// The start of a skip reason.
std::string needs_text(const PrivateNamespace::Hooks& hooks) {
  return "needs root or unprivileged user namespaces for " + hooks.purpose + ": ";
}

std::string errno_text(const std::string& what, int err = errno) {
  return what + ": " + std::strerror(err);
}

void send_reply(int fd, Outcome outcome, std::string_view text) noexcept {
  Reply r{};
  r.outcome = outcome;
  const std::size_t n = std::min(text.size(), sizeof r.text - 1);
  std::memcpy(r.text, text.data(), n);
  // Best effort: if the main process is gone, nobody is left to tell.
  [[maybe_unused]] const ssize_t w = ::send(fd, &r, sizeof r, MSG_NOSIGNAL);
}

// What a waitpid status says. The relay exits with 128 + N when the host was
// killed by signal N, as a shell does.
std::string exit_text(int status) {
  if (status == -1) return "ended (reaped elsewhere)";
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    if (code > 128) return std::string("was killed by signal ") + ::strsignal(code - 128);
    return "exited with status " + std::to_string(code);
  }
  return "ended oddly (wait status " + std::to_string(status) + ")";
}

bool write_file(const char* path, const std::string& text) noexcept {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

// New mount, IPC and PID namespaces for the relay's children. Without the
// privilege for that (not root, or root without CAP_SYS_ADMIN in a
// container), a new user namespace in the same call makes us root inside it,
// which is enough to mount in a mount namespace that it owns.
bool enter_namespaces(const std::string& needs, std::string& why) {
  constexpr int kNamespaces = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID;
  if (::unshare(kNamespaces) == 0) return true;
  const int err = errno;
  const std::string first = errno_text("unshare", err);
  if (err != EPERM) {
    why = needs + first;
    return false;
  }
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | kNamespaces) != 0) {
    const int user_err = errno;
    why = needs + first + errno_text("; with a user namespace", user_err);
    return false;
  }
  // An unprivileged process may write gid_map only after denying setgroups
  // (absent before Linux 3.19, where it need not be denied).
  if (!write_file("/proc/self/setgroups", "deny") && errno != ENOENT) {
    const int map_err = errno;
    why = needs + errno_text("user namespace: /proc/self/setgroups", map_err);
    return false;
  }
  if (!write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") ||
      !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n")) {
    const int map_err = errno;
    why = needs + errno_text("user namespace: writing its id maps", map_err);
    return false;
  }
  return true;
}

[[noreturn]] void mount_failed(const std::string& needs, const std::string& what) {
  const int err = errno;
  if (err == EPERM || err == EACCES) throw CaseSkipped(needs + errno_text("mount " + what, err));
  throw CaseFailure(errno_text("mount " + what, err));
}

void make_mounts(const PrivateNamespace::Hooks& hooks) {
  const std::string why = needs_text(hooks);
  // Mounts made here must not propagate back to the machine's namespace
  // (systemd makes / shared), nor the machine's come in.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    mount_failed(why, "--make-rprivate /");
  }
  for (const std::string& dir : hooks.tmpfs) {
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) {
      mount_failed(why, "tmpfs on " + dir);
    }
  }
  // This PID namespace's /proc: a process that looks itself up there (RouDi
  // names its threads through /proc/self/task/TID/comm) must find its own
  // PIDs, not the machine's.
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    mount_failed(why, "proc on /proc");
  }
}

// The main process's handlers remove its shared memory on a signal; here a
// signal should simply end the process.
void default_signals() noexcept {
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
}

// Serves requests until the main process closes its end.
void serve(const PrivateNamespace::Hooks& hooks, int fd) {
  for (;;) {
    Request r{};
    const ssize_t n = ::recv(fd, &r, sizeof r, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // end of file: the main process let us go (or died)
    try {
      hooks.serve(r.value);
      send_reply(fd, Outcome::ok, "");
    } catch (const std::exception& e) {
      send_reply(fd, Outcome::failed, e.what());
    }
  }
}

// Process 1 of the new PID namespace.
[[noreturn]] void host_main(const PrivateNamespace::Hooks& hooks, int fd) noexcept {
  // Die with the relay; and since we are this namespace's init, the kernel
  // then kills everything else in it. (If the relay died before this line, the
  // main process is gone too: recv sees end of file and we stop.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  int code = 0;
  try {
    make_mounts(hooks);
    hooks.setup();
    send_reply(fd, Outcome::ok, "");
    serve(hooks, fd);
  } catch (const CaseSkipped& e) {
    send_reply(fd, Outcome::skipped, e.what());
  } catch (const std::exception& e) {
    send_reply(fd, Outcome::failed, e.what());
    code = 1;
  } catch (...) {
    send_reply(fd, Outcome::failed, "the private namespace's setup failed");
    code = 1;
  }
  if (hooks.teardown) hooks.teardown();
  ::_exit(code);
}

// Between the main process and the host: unshare(CLONE_NEWPID) puts only the
// caller's later children in the new PID namespace, so this process enters
// the namespaces, forks the host into them and waits for it.
[[noreturn]] void relay_main(const PrivateNamespace::Hooks& hooks, int fd,
                             pid_t main_pid) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != main_pid) ::_exit(1);
  default_signals();
  std::string why;
  try {
    if (!enter_namespaces(needs_text(hooks), why)) {
      send_reply(fd, Outcome::skipped, why);
      ::_exit(0);
    }
  } catch (...) {
    ::_exit(1);
  }
  const pid_t host = ::fork();
  if (host < 0) {
    send_reply(fd, Outcome::failed, errno_text("fork (the private namespace's host)"));
    ::_exit(1);
  }
  if (host == 0) host_main(hooks, fd);
  ::close(fd);
  int status = 0;
  while (::waitpid(host, &status, 0) < 0) {
    if (errno != EINTR) ::_exit(1);
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// Strips terminal colour sequences (ESC [ ... m) and folds lines, so a
// daemon's log tail reads as one line of a failure message.
std::string plain_text(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    out += (s[i] == '\n') ? std::string_view(" | ") : std::string_view(&s[i], 1);
  }
  return out;
}

}  // namespace

bool wait_for_exit(pid_t pid, int& status, std::chrono::milliseconds timeout) noexcept {
  // A pidfd becomes readable when the process exits (Linux 5.3); without one,
  // look every millisecond.
#ifdef SYS_pidfd_open
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  const int pidfd = -1;
#endif
  const auto deadline = Clock::now() + timeout;
  bool done = false;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      status = st;
      done = true;
      break;
    }
    if (r < 0 && errno != EINTR) {  // ECHILD: another waitpid(-1) reaped it
      status = -1;
      done = true;
      break;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    } else {
      ::poll(nullptr, 0, 1);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return done;
}

// --- PrivateNamespace (main process) ------------------------------------------

PrivateNamespace::Link::~Link() {
  if (fd >= 0) ::close(fd);  // the host sees end of file: it tears down and exits
  if (relay > 0) {
    int status = 0;
    if (!wait_for_exit(relay, status, kStopTimeout)) {
      // The host's death (PR_SET_PDEATHSIG) ends the whole namespace.
      ::kill(relay, SIGKILL);
      while (::waitpid(relay, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
}

PrivateNamespace::PrivateNamespace(Hooks hooks, std::chrono::seconds setup_timeout)
    : hooks_(std::move(hooks)) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    throw CaseFailure(errno_text("socketpair"));
  }
  const pid_t main_pid = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw CaseFailure(errno_text("fork", err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    relay_main(hooks_, fds[1], main_pid);
  }
  ::close(fds[1]);
  link_.relay = pid;
  link_.fd = fds[0];
  await_reply(setup_timeout, "setup");
}

PrivateNamespace::~PrivateNamespace() = default;

void PrivateNamespace::call(std::uint32_t request, std::chrono::seconds timeout) {
  const Request r{request};
  if (::send(link_.fd, &r, sizeof r, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof r)) {
    throw CaseFailure(host_gone("request"));
  }
  await_reply(timeout, "request");
}

void PrivateNamespace::await_reply(std::chrono::seconds timeout, const char* what) {
  const auto deadline = Clock::now() + timeout;
  Reply r{};
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      throw CaseFailure("the private namespace's host did not finish its " + std::string(what) +
                        " in " + std::to_string(timeout.count()) + " s");
    }
    pollfd p{link_.fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (ready <= 0) continue;  // timed out (looped on the deadline) or EINTR
    const ssize_t n = ::recv(link_.fd, &r, sizeof r, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof r)) throw CaseFailure(host_gone(what));
    break;
  }
  r.text[sizeof r.text - 1] = '\0';
  switch (r.outcome) {
    case Outcome::ok: return;
    case Outcome::skipped: throw CaseSkipped(r.text);
    case Outcome::failed: throw CaseFailure(r.text);
  }
  throw CaseFailure("the private namespace's host sent an unknown reply");
}

std::string PrivateNamespace::host_gone(const char* what) {
  int status = 0;
  if (link_.relay <= 0 || !wait_for_exit(link_.relay, status, std::chrono::seconds(2))) {
    return "the private namespace's host stopped answering during its " + std::string(what);
  }
  link_.relay = -1;
  return "the private namespace's host " + exit_text(status) + " during its " + what;
}

// --- Daemon (host) ------------------------------------------------------------------

Daemon::Daemon(const std::vector<std::string>& argv, std::string log_path)
    : name_(argv.at(0)), log_path_(std::move(log_path)) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) throw CaseFailure(errno_text("open " + log_path_));
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    const int err = errno;
    ::close(log);
    if (null >= 0) ::close(null);
    throw CaseFailure(errno_text("fork (" + name_ + ")", err));
  }
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    default_signals();  // exec keeps an ignored signal ignored
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(args[0], args.data());
    const std::string text = errno_text(std::string("exec ") + args[0]) + "\n";
    [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, text.data(), text.size());
    ::_exit(127);
  }
  ::close(log);
  if (null >= 0) ::close(null);
}

bool Daemon::running() {
  if (exited_ || pid_ <= 0) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = st;
  } else if (r < 0 && errno == ECHILD) {  // a Team's waitpid(-1) reaped it
    exited_ = true;
    status_ = -1;
  }
  return !exited_;
}

bool Daemon::wait_for_path(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) return true;
    if (!running() || Clock::now() >= deadline) return false;
    // Wait a millisecond for the daemon to die (that wakes us at once), then
    // look again: a start takes hundreds of milliseconds.
    if (wait_for_exit(pid_, status_, std::chrono::milliseconds(1))) {
      exited_ = true;
      return false;
    }
  }
}

void Daemon::stop(std::chrono::milliseconds grace) noexcept {
  if (pid_ <= 0 || exited_) return;
  ::kill(pid_, SIGTERM);
  if (!wait_for_exit(pid_, status_, grace)) {
    ::kill(pid_, SIGKILL);
    (void)wait_for_exit(pid_, status_, std::chrono::seconds(5));
  }
  exited_ = true;
}

std::string Daemon::describe() const {
  std::string text = name_ + (exited_ ? " " + exit_text(status_) : std::string(" is running"));
  const int fd = ::open(log_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  // The last kTail bytes of its log.
  constexpr off_t kTail = 1200;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  std::string log(static_cast<std::size_t>(std::min<off_t>(std::max<off_t>(size, 0), kTail)), '\0');
  const ssize_t n = ::pread(fd, log.data(), log.size(), std::max<off_t>(size - kTail, 0));
  ::close(fd);
  log.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (!log.empty()) text += "; its log: " + plain_text(log);
  return text;
}

}  // namespace shmkit::bench
