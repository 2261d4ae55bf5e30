#include "shmkit/platform/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "shmkit/error.hpp"

namespace shmkit {
namespace {

struct StatFields {
  char state = '?';
  std::uint64_t start_ticks = 0;
};

// What reading /proc/PID/stat told.
enum class StatRead {
  ok,       // `out` holds the fields
  gone,     // there is no process PID (never was, or exited and was reaped)
  unknown,  // it could not be read: out of file descriptors, /proc hidden or
            // not mounted, an unreadable format; `errno` says why
};

// Reads /proc/PID/stat. The command name (field 2) may hold spaces and ')',
// so fields are counted from the last ')'.
StatRead read_stat(std::int32_t pid, StatFields& out) noexcept {
  std::array<char, 64> path{};
  const int n = std::snprintf(path.data(), path.size(), "/proc/%d/stat", pid);
  if (n <= 0) return StatRead::unknown;
  const int fd = ::open(path.data(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ESRCH ? StatRead::gone : StatRead::unknown;
  std::array<char, 1024> buf{};
  ssize_t len = 0;
  do {
    len = ::read(fd, buf.data(), buf.size() - 1);
  } while (len < 0 && errno == EINTR);
  const int read_errno = errno;
  ::close(fd);
  if (len < 0) {
    errno = read_errno;
    return read_errno == ESRCH ? StatRead::gone : StatRead::unknown;  // ESRCH: reaped since open
  }
  errno = EPROTO;  // for the format checks below
  if (len == 0) return StatRead::unknown;
  const std::string_view text(buf.data(), static_cast<std::size_t>(len));
  const std::size_t paren = text.rfind(')');
  if (paren == std::string_view::npos || paren + 2 >= text.size()) return StatRead::unknown;
  // After ") " come field 3 (state) ... field 22 (starttime).
  std::string_view rest = text.substr(paren + 2);
  out.state = rest[0];
  for (int field = 3; field < 22; ++field) {
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos) return StatRead::unknown;
    rest.remove_prefix(space + 1);
  }
  const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), out.start_ticks);
  return ec == std::errc{} ? StatRead::ok : StatRead::unknown;
}

bool valid_pid(std::int32_t pid) noexcept {
  return pid > 0 && static_cast<std::uint64_t>(pid) <= ProcessIdentity::kPidMask;
}

}  // namespace

std::int32_t current_pid() noexcept { return ::getpid(); }

void exit_now(int code) noexcept {
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}

bool die_with_parent(std::int32_t parent) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A parent that died before the prctl left us to init (or a subreaper).
  return ::getppid() == parent;
}

ProcessIdentity ProcessIdentity::self() {
  // Cached per pid: after fork() the child's getpid() differs and it re-reads.
  static std::atomic<std::uint64_t> cached{0};
  const std::int32_t pid = current_pid();
  const std::uint64_t word = cached.load(std::memory_order_relaxed);
  if (word != 0 && unpack(word).pid == pid) return unpack(word);
  const ProcessIdentity me = read_own(pid, "the calling process");
  cached.store(me.pack(), std::memory_order_relaxed);
  return me;
}

ProcessIdentity ProcessIdentity::read_own(std::int32_t id, const char* what) {
  StatFields stat;
  const StatRead read = valid_pid(id) ? read_stat(id, stat) : StatRead::gone;
  if (read != StatRead::ok) {
    const int error = read == StatRead::gone ? ESRCH : errno;
    throw Error(std::error_code(error, std::system_category()),
                "cannot read /proc/" + std::to_string(id) + "/stat for the start time of " + what +
                    ", which shmkit records to tell it from a later process");
  }
  return unpack(ProcessIdentity{id, stat.start_ticks}.pack());
}

std::optional<ProcessIdentity> ProcessIdentity::of(std::int32_t pid) {
  if (!valid_pid(pid)) return std::nullopt;
  StatFields stat;
  if (read_stat(pid, stat) != StatRead::ok) return std::nullopt;
  if (stat.state == 'Z' || stat.state == 'X') return std::nullopt;
  // Round-trip through pack() so the start time compares equal to a packed one.
  return unpack(ProcessIdentity{pid, stat.start_ticks}.pack());
}

bool is_alive(const ProcessIdentity& who) noexcept {
  if (!valid_pid(who.pid)) return false;
  StatFields stat;
  switch (read_stat(who.pid, stat)) {
    case StatRead::gone: return false;
    case StatRead::unknown:
      // Not known to be dead. Taking it for dead would hand its lock or slot
      // to a second owner while it may run on; the caller looks again at its
      // next check.
      return true;
    case StatRead::ok: break;
  }
  if (stat.state == 'Z' || stat.state == 'X') return false;
  return ProcessIdentity{who.pid, stat.start_ticks} == who;
}

}  // namespace shmkit
