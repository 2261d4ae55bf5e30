#include "shmkit/platform/interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>

#include "shmkit/error.hpp"

namespace shmkit::platform {
namespace {

constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
std::atomic<int> g_write_fd{-1};  // the self-pipe; read by the handler
std::atomic<int> g_first_signal{0};
std::array<struct sigaction, kSignals.size()> g_previous{};

extern "C" void on_signal(int sig) {
  const int saved = errno;
  int expected = 0;
  g_first_signal.compare_exchange_strong(expected, sig, std::memory_order_relaxed);
  const int fd = g_write_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);  // async-signal-safe
  }
  errno = saved;
}

}  // namespace

InterruptWatch::InterruptWatch() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno(errno, "pipe for signals");
  read_fd_ = fds[0];
  g_first_signal.store(0, std::memory_order_relaxed);
  g_write_fd.store(fds[1], std::memory_order_relaxed);
  struct sigaction action {};
  action.sa_handler = &on_signal;
  sigemptyset(&action.sa_mask);
  for (std::size_t i = 0; i < kSignals.size(); ++i)
    ::sigaction(kSignals[i], &action, &g_previous[i]);
}

InterruptWatch::~InterruptWatch() {
  for (std::size_t i = 0; i < kSignals.size(); ++i)
    ::sigaction(kSignals[i], &g_previous[i], nullptr);
  const int write_fd = g_write_fd.exchange(-1, std::memory_order_relaxed);
  if (write_fd >= 0) ::close(write_fd);
  ::close(read_fd_);
}

int InterruptWatch::signal() const noexcept {
  return g_first_signal.load(std::memory_order_relaxed);
}

void InterruptWatch::reset_in_child() noexcept {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (const int sig : kSignals) ::sigaction(sig, &action, nullptr);
  const int write_fd = g_write_fd.exchange(-1, std::memory_order_relaxed);
  if (write_fd >= 0) ::close(write_fd);
}

std::vector<std::size_t> wait_readable(const std::vector<int>& fds,
                                       std::optional<std::chrono::milliseconds> timeout) {
  std::vector<pollfd> polls;
  for (const int fd : fds) polls.push_back({fd, POLLIN, 0});
  int rc = 0;
  do {
    rc = ::poll(polls.data(), polls.size(), timeout ? static_cast<int>(timeout->count()) : -1);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) throw_errno(errno, "poll");
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < polls.size(); ++i) {
    if ((polls[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) ready.push_back(i);
  }
  return ready;
}

}  // namespace shmkit::platform
