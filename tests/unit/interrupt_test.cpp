// platform::InterruptWatch's hook: called by the signal handler after the
// self-pipe write; called at once when set after a signal came; not called
// once cleared; and clearing it waits for a handler running it on another
// thread (the tsan preset sees the hook's context outlive that handler).
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include <gtest/gtest.h>

#include "../list/list_test_util.hpp"
#include "shmkit/platform/interrupt.hpp"
#include "shmkit/platform/spin.hpp"

namespace shmkit {
namespace {

using platform::InterruptWatch;

// What the hook saw: how often it ran, and whether the watch's fd was
// readable then. Atomics only: it runs in a signal handler.
struct Seen {
  std::atomic<int> calls{0};
  std::atomic<bool> fd_was_readable{false};
  int fd = -1;
};

void record(void* context) noexcept {
  auto* seen = static_cast<Seen*>(context);
  pollfd look{seen->fd, POLLIN, 0};
  if (::poll(&look, 1, 0) == 1) seen->fd_was_readable = true;  // poll() is async-signal-safe
  seen->calls.fetch_add(1);
}

bool readable(int fd) {
  return !platform::wait_readable({fd}, std::chrono::milliseconds(0)).empty();
}

TEST(InterruptWatch, ASignalCallsTheHookAfterMakingTheFdReadable) {
  InterruptWatch watch;
  Seen seen;
  seen.fd = watch.fd();
  watch.set_hook({&record, &seen});
  EXPECT_EQ(seen.calls.load(), 0);  // no signal yet
  ASSERT_EQ(::raise(SIGINT), 0);    // the handler runs before raise() returns
  EXPECT_EQ(seen.calls.load(), 1);
  EXPECT_TRUE(seen.fd_was_readable.load());
  EXPECT_EQ(watch.signal(), SIGINT);
  EXPECT_TRUE(readable(watch.fd()));
}

// The race a caller cannot close alone: the signal came before the hook was set.
TEST(InterruptWatch, AHookSetAfterASignalIsCalledAtOnce) {
  InterruptWatch watch;
  ASSERT_EQ(::raise(SIGTERM), 0);
  Seen seen;
  seen.fd = watch.fd();
  watch.set_hook({&record, &seen});
  EXPECT_EQ(seen.calls.load(), 1);
  EXPECT_EQ(watch.signal(), SIGTERM);
}

TEST(InterruptWatch, AClearedOrReplacedHookIsNotCalled) {
  InterruptWatch watch;
  Seen first;
  Seen second;
  watch.set_hook({&record, &first});
  watch.set_hook({});
  ASSERT_EQ(::raise(SIGHUP), 0);
  EXPECT_EQ(first.calls.load(), 0);
  EXPECT_EQ(watch.signal(), SIGHUP);
  watch.set_hook({&record, &second});  // the signal came: called here
  watch.set_hook({&record, &first});
  EXPECT_EQ(first.calls.load(), 1);
  EXPECT_EQ(second.calls.load(), 1);
  ASSERT_EQ(::raise(SIGHUP), 0);
  EXPECT_EQ(first.calls.load(), 2);
  EXPECT_EQ(second.calls.load(), 1);
}

// A handler running the hook on one thread while another clears it: the clear
// returns only once the hook is done, so what its context points to (here
// `value`, which the test then overwrites as a destructor would) is never
// used after the clear. Without that wait the hook could read 2, and tsan
// would see the write and the read unordered.
struct Held {
  std::atomic<bool> entered{false};
  std::atomic<bool> go{false};
  int value = 1;  // plain: only the ordering set_hook() promises protects it
  std::atomic<int> read{0};
};

void hold(void* context) noexcept {
  auto* held = static_cast<Held*>(context);
  held->entered = true;
  while (!held->go) platform::cpu_relax();
  held->read = held->value;
}

TEST(InterruptWatch, ClearingTheHookWaitsForAHandlerRunningIt) {
  InterruptWatch watch;
  Held held;
  watch.set_hook({&hold, &held});
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  // A thread that waits in read() until the write below; the handler runs on
  // it, whenever the signal comes (a read it interrupts is read again).
  std::thread victim([&] {
    char byte = 0;
    while (::read(pipe_fds[0], &byte, 1) < 0 && errno == EINTR) {
    }
  });
  // Sent again until the hook runs: tsan runs the handler of a signal that
  // comes outside a blocking call only once the thread leaves its next
  // intercepted call, and a read() begun just after it never returns. A repeat that comes while the
  // hook runs is blocked until it returns; by then `go` is set, and after the clear the handler
  // finds no hook.
  const bool entered = test::eventually([&] {
    if (held.entered.load()) return true;
    (void)::pthread_kill(victim.native_handle(), SIGINT);
    return false;
  });
  EXPECT_TRUE(entered) << "the handler never ran the hook";
  std::thread clearer([&] {
    watch.set_hook({});
    held.value = 2;  // what the context held is gone now
  });
  held.go = true;
  clearer.join();
  const char byte = 0;
  ASSERT_EQ(::write(pipe_fds[1], &byte, 1), 1);
  victim.join();
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_EQ(held.read.load(), 1);
}

}  // namespace
}  // namespace shmkit
