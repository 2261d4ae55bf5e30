#include "shmkit/platform/interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
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

// The hook (set_hook()): g_hook_at points to g_hook while one is set, else
// is null. g_hook is written only by set_hook(), while g_hook_at is null and
// no handler is inside the hook (g_hook_callers counts those that may be).
SignalHook g_hook{};
std::atomic<const SignalHook*> g_hook_at{nullptr};
std::atomic<int> g_hook_callers{0};
// Lock-free, hence async-signal-safe.
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<const SignalHook*>::is_always_lock_free);

void call_hook() noexcept {
  // [H1] seq_cst, before [H2]: with set_hook()'s [S1] store and [S2] load,
  // Dekker's pattern: either we see the hook cleared, or set_hook() sees our
  // count and waits for it to drop.
  g_hook_callers.fetch_add(1, std::memory_order_seq_cst);
  // [H2] seq_cst (acquire at least: g_hook's fields as set_hook() wrote them).
  const SignalHook* hook = g_hook_at.load(std::memory_order_seq_cst);
  if (hook != nullptr) hook->call(hook->context);
  // release: our reads of g_hook come before set_hook() sees the count drop.
  g_hook_callers.fetch_sub(1, std::memory_order_release);
}

extern "C" void on_signal(int sig) {
  const int saved = errno;
  int expected = 0;
  // [H0] seq_cst: with set_hook()'s [S3] store and [S4] load, Dekker's
  // pattern: either we see the new hook and call it, or set_hook() sees the
  // signal and calls it.
  g_first_signal.compare_exchange_strong(expected, sig, std::memory_order_seq_cst);
  const int fd = g_write_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);  // async-signal-safe
  }
  call_hook();
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
  set_hook({});
  const int write_fd = g_write_fd.exchange(-1, std::memory_order_relaxed);
  if (write_fd >= 0) ::close(write_fd);
  ::close(read_fd_);
}

int InterruptWatch::signal() const noexcept {
  return g_first_signal.load(std::memory_order_relaxed);
}

void InterruptWatch::set_hook(SignalHook hook) noexcept {
  // [S1] seq_cst: see [H1]. A handler that loads g_hook_at after this sees
  // null (or the hook published below, complete).
  g_hook_at.store(nullptr, std::memory_order_seq_cst);
  // [S2] A handler that read the old pointer counted itself before ([H1]
  // precedes [H2], which precedes [S1]): wait until it is done. It runs a
  // short async-signal-safe call on another thread (one on this thread has
  // finished: it ran on top of us), so this is a wait of microseconds, not
  // a poll for an event. acquire pairs with the handler's release.
  while (g_hook_callers.load(std::memory_order_seq_cst) != 0) ::sched_yield();
  if (hook.call == nullptr) return;
  g_hook = hook;
  // [S3] seq_cst (release at least: g_hook before the pointer to it).
  g_hook_at.store(&g_hook, std::memory_order_seq_cst);
  // [S4] seq_cst: see [H0]. A signal that came before [S3] may have found no
  // hook to call: call it here. Its handler may call it too: hooks may run
  // twice.
  if (g_first_signal.load(std::memory_order_seq_cst) != 0) hook.call(hook.context);
}

void InterruptWatch::reset_in_child() noexcept {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (const int sig : kSignals) ::sigaction(sig, &action, nullptr);
  const int write_fd = g_write_fd.exchange(-1, std::memory_order_relaxed);
  if (write_fd >= 0) ::close(write_fd);
  // The child has one thread: a count left by a handler that was running on
  // another thread of the parent at fork() would never drop.
  g_hook_at.store(nullptr, std::memory_order_relaxed);
  g_hook_callers.store(0, std::memory_order_relaxed);
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
