#include "shmkit/platform/std_fds.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace shmkit::platform {
namespace {

bool g_sigpipe_ignored_at_start = false;  // written once by main, before any thread

}  // namespace

bool occupy_closed_std_fds() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free fd is `fd` itself, since those below it are open now.
    // Not O_CLOEXEC: a command that 'shmkit lock' runs finds it closed the
    // same way (reads or writes fail), not filled by one of its own files.
    const int opened = ::open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (opened == fd) continue;
    if (opened >= 0) ::close(opened);
    return false;
  }
  return true;
}

void ignore_sigpipe() noexcept {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  struct sigaction previous {};
  if (::sigaction(SIGPIPE, &ignore, &previous) == 0) {
    g_sigpipe_ignored_at_start = previous.sa_handler == SIG_IGN;
  }
}

bool sigpipe_ignored_at_start() noexcept { return g_sigpipe_ignored_at_start; }

void restore_start_sigpipe() noexcept {
  if (!g_sigpipe_ignored_at_start) ::signal(SIGPIPE, SIG_DFL);
}

}  // namespace shmkit::platform
