#include "shmkit/platform/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
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

// Reads /proc/PID/stat. The command name (field 2) may hold spaces and ')',
// so fields are counted from the last ')'. Returns false if there is no such
// process or the file cannot be parsed.
bool read_stat(std::int32_t pid, StatFields& out) noexcept {
  std::array<char, 64> path{};
  const int n = std::snprintf(path.data(), path.size(), "/proc/%d/stat", pid);
  if (n <= 0) return false;
  const int fd = ::open(path.data(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::array<char, 1024> buf{};
  ssize_t len = 0;
  do {
    len = ::read(fd, buf.data(), buf.size() - 1);
  } while (len < 0 && errno == EINTR);
  ::close(fd);
  if (len <= 0) return false;
  const std::string_view text(buf.data(), static_cast<std::size_t>(len));
  const std::size_t paren = text.rfind(')');
  if (paren == std::string_view::npos || paren + 2 >= text.size()) return false;
  // After ") " come field 3 (state) ... field 22 (starttime).
  std::string_view rest = text.substr(paren + 2);
  out.state = rest[0];
  for (int field = 3; field < 22; ++field) {
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos) return false;
    rest.remove_prefix(space + 1);
  }
  const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), out.start_ticks);
  return ec == std::errc{};
}

bool valid_pid(std::int32_t pid) noexcept {
  return pid > 0 && static_cast<std::uint64_t>(pid) <= ProcessIdentity::kPidMask;
}

}  // namespace

std::int32_t current_pid() noexcept { return ::getpid(); }

ProcessIdentity ProcessIdentity::self() {
  // Cached per pid: after fork() the child's getpid() differs and it re-reads.
  static std::atomic<std::uint64_t> cached{0};
  const std::int32_t pid = current_pid();
  const std::uint64_t word = cached.load(std::memory_order_relaxed);
  if (word != 0 && unpack(word).pid == pid) return unpack(word);
  const std::optional<ProcessIdentity> me = of(pid);
  if (!me) throw Error(Errc::corrupt, "cannot read /proc/self/stat for the process start time");
  cached.store(me->pack(), std::memory_order_relaxed);
  return *me;
}

std::optional<ProcessIdentity> ProcessIdentity::of(std::int32_t pid) {
  if (!valid_pid(pid)) return std::nullopt;
  StatFields stat;
  if (!read_stat(pid, stat)) return std::nullopt;
  if (stat.state == 'Z' || stat.state == 'X') return std::nullopt;
  // Round-trip through pack() so the start time compares equal to a packed one.
  return unpack(ProcessIdentity{pid, stat.start_ticks}.pack());
}

bool is_alive(const ProcessIdentity& who) noexcept {
  if (!valid_pid(who.pid)) return false;
  StatFields stat;
  if (!read_stat(who.pid, stat)) return false;
  if (stat.state == 'Z' || stat.state == 'X') return false;
  return ProcessIdentity{who.pid, stat.start_ticks} == who;
}

}  // namespace shmkit
