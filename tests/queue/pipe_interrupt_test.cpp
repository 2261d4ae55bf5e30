// Pipe::interrupt(): a send or recv asleep with no deadline returns
// `interrupted` once another thread (or a signal handler, in a forked
// process) interrupts its handle, having sent or taken nothing; an interrupt
// that came before the wait ends it at once; the peer is not disturbed; the
// pipe works on afterwards, once the interrupt is cleared.
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "queue_test_util.hpp"
#include "shmkit/detail/pipe_layout.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/platform/interrupt.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::check_in_child;
using test::ScopedName;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

// A wait that an interrupt failed to end would last this long: the test then
// hangs (and ctest's timeout fails it) instead of passing late.
constexpr auto kForever = std::chrono::hours(1);

detail::PipeHead& head_of(const Pipe& p) {
  return *reinterpret_cast<detail::PipeHead*>(p.segment().data().data());  // NOLINT
}
// Whether end `e`'s recv (send) is asleep, or about to be: it receives ring
// 1 - e and sends on ring e.
bool recv_waits(const Pipe& p, int e) {
  return head_of(p).control[1 - e].consumer_waiting.load() != 0;
}
bool send_waits(const Pipe& p, int e) { return head_of(p).control[e].producer_waiting.load() != 0; }

// Every message waiting for `p`, in order, taken without a wait.
std::vector<std::string> drain(Pipe& p) {
  std::vector<std::string> all;
  std::string got;
  while (p.try_recv(got) == QueueStatus::ok) all.push_back(got);
  return all;
}
using Messages = std::vector<std::string>;

TEST(PipeInterrupt, EndsARecvAsleepWithNoDeadline) {
  const ScopedName name("px-recv");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  auto b = Pipe::open(name);
  std::string got = "untouched";
  std::atomic<int> received{-1};
  std::thread receiver([&] { received = static_cast<int>(a.recv(got)); });
  ASSERT_TRUE(test::eventually([&] { return recv_waits(a, 0); }));
  a.interrupt();
  receiver.join();
  EXPECT_EQ(received.load(), static_cast<int>(QueueStatus::interrupted));
  EXPECT_EQ(got, "untouched");
  EXPECT_FALSE(recv_waits(a, 0));  // its waiting flag went with it
  EXPECT_FALSE(a.closed());        // nothing closed, on either side
  EXPECT_FALSE(b.closed());
  EXPECT_FALSE(b.interrupted());

  // Cleared, the pipe works as before: a recv waits for the next message.
  a.clear_interrupt();
  EXPECT_FALSE(a.interrupted());
  std::thread late([&] { received = static_cast<int>(a.recv(got)); });
  ASSERT_TRUE(test::eventually([&] { return recv_waits(a, 0); }));
  ASSERT_EQ(b.send(bytes("m")), QueueStatus::ok);
  late.join();
  EXPECT_EQ(received.load(), static_cast<int>(QueueStatus::ok));
  EXPECT_EQ(got, "m");
}

TEST(PipeInterrupt, EndsASendAsleepOnAFullRingSendingNothing) {
  const ScopedName name("px-send");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  auto b = Pipe::open(name);
  ASSERT_EQ(a.send(bytes("a")), QueueStatus::ok);
  ASSERT_EQ(a.send(bytes("b")), QueueStatus::ok);
  std::atomic<int> sent{-1};
  std::thread sender([&] { sent = static_cast<int>(a.send(bytes("c"))); });
  ASSERT_TRUE(test::eventually([&] { return send_waits(a, 0); }));
  a.interrupt();
  sender.join();
  EXPECT_EQ(sent.load(), static_cast<int>(QueueStatus::interrupted));
  EXPECT_FALSE(send_waits(a, 0));

  // Still interrupted: a send with room needs no wait.
  std::string got;
  ASSERT_EQ(b.recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "a");
  ASSERT_EQ(a.send(bytes("d")), QueueStatus::ok);
  EXPECT_EQ(a.send(bytes("e")), QueueStatus::interrupted);  // full again
  a.clear_interrupt();
  EXPECT_EQ(drain(b), (Messages{"b", "d"}));  // never "c" nor "e"
}

// One interrupt ends both of the handle's waits at once: a thread asleep
// sending and another asleep receiving.
TEST(PipeInterrupt, EndsASendAndARecvOfTheSameHandle) {
  const ScopedName name("px-both");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  auto b = Pipe::open(name);
  ASSERT_EQ(a.send(bytes("1")), QueueStatus::ok);
  ASSERT_EQ(a.send(bytes("2")), QueueStatus::ok);
  std::atomic<int> sent{-1};
  std::atomic<int> received{-1};
  std::thread sender([&] { sent = static_cast<int>(a.send(bytes("3"))); });
  std::thread receiver([&] {
    std::string got;
    received = static_cast<int>(a.recv(got));
  });
  ASSERT_TRUE(test::eventually([&] { return send_waits(a, 0) && recv_waits(a, 0); }));
  a.interrupt();
  sender.join();
  receiver.join();
  EXPECT_EQ(sent.load(), static_cast<int>(QueueStatus::interrupted));
  EXPECT_EQ(received.load(), static_cast<int>(QueueStatus::interrupted));
  EXPECT_EQ(drain(b), (Messages{"1", "2"}));
}

// Sticky: an interrupt before the wait ends every waiting form at once, until
// cleared, whatever their deadline; the try_ forms never see it.
TEST(PipeInterrupt, AnInterruptBeforeTheWaitEndsItAtOnceUntilCleared) {
  const ScopedName name("px-sticky");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  auto b = Pipe::open(name);
  a.interrupt();
  EXPECT_TRUE(a.interrupted());
  std::string got;
  EXPECT_EQ(a.try_recv(got), QueueStatus::empty);
  EXPECT_FALSE(a.try_peek().has_value());
  EXPECT_EQ(a.recv(got), QueueStatus::interrupted);
  EXPECT_EQ(a.recv_for(got, kForever), QueueStatus::interrupted);
  EXPECT_FALSE(a.poll(kForever));

  ASSERT_EQ(b.send(bytes("x")), QueueStatus::ok);  // b's flag is its own
  EXPECT_TRUE(a.poll(kForever));                   // a message: no wait
  ASSERT_EQ(a.recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "x");

  ASSERT_EQ(a.try_send(bytes("a")), QueueStatus::ok);
  ASSERT_EQ(a.send(bytes("b")), QueueStatus::ok);  // room: no wait
  EXPECT_EQ(a.try_send(bytes("y")), QueueStatus::full);
  EXPECT_TRUE(a.try_reserve().empty());
  EXPECT_EQ(a.send(bytes("y")), QueueStatus::interrupted);
  EXPECT_EQ(a.send_for(bytes("y"), kForever), QueueStatus::interrupted);

  // A moved handle keeps it; cleared, a wait with a deadline waits again.
  Pipe moved = std::move(a);
  EXPECT_TRUE(moved.interrupted());
  moved.clear_interrupt();
  EXPECT_EQ(moved.send_for(bytes("y"), 0ms), QueueStatus::timed_out);
  EXPECT_EQ(moved.recv_for(got, 0ms), QueueStatus::timed_out);
  EXPECT_FALSE(moved.poll(0ms));
  EXPECT_EQ(drain(b), (Messages{"a", "b"}));  // never "y"
}

// The flag is the handle's, and the peer's waits sleep on other words: a
// peer asleep in recv stays asleep through our interrupt and takes the
// message we send after it.
TEST(PipeInterrupt, ThePeerGoesOnWaiting) {
  const ScopedName name("px-peer");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  auto b = Pipe::open(name);
  std::string got;
  std::atomic<int> received{-1};
  std::thread receiver([&] { received = static_cast<int>(b.recv(got)); });
  ASSERT_TRUE(test::eventually([&] { return recv_waits(b, 1); }));
  a.interrupt();
  ASSERT_EQ(a.try_send(bytes("m")), QueueStatus::ok);
  receiver.join();
  EXPECT_EQ(received.load(), static_cast<int>(QueueStatus::ok));
  EXPECT_EQ(got, "m");
}

void interrupt_pipe(void* pipe) noexcept { static_cast<Pipe*>(pipe)->interrupt(); }

// A signal handler (InterruptWatch's hook) ends a recv asleep in a forked
// process, which then lets its end go as usual.
TEST(PipeInterruptIpc, ASignalHookEndsARecvAsleepInAnotherProcess) {
  const ScopedName name("px-signal");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  const pid_t child = test::fork_child([&] {
    platform::InterruptWatch interrupts;
    auto mine = Pipe::open(name);
    interrupts.set_hook({&interrupt_pipe, &mine});
    std::string got;
    const QueueStatus status = mine.recv(got);
    interrupts.set_hook({});  // before `mine` goes
    check_in_child(status == QueueStatus::interrupted,
                   "recv returned " + std::to_string(static_cast<int>(status)));
    check_in_child(interrupts.signal() == SIGINT, "no SIGINT seen");
    check_in_child(!mine.closed(), "the interrupt closed the pipe");
  });
  const test::KillOnExit reaper(child);
  ASSERT_TRUE(test::eventually([&] { return recv_waits(a, 1); }));
  ASSERT_EQ(::kill(child, SIGINT), 0);
  EXPECT_EQ(test::wait_exit_code(child), 0);
  EXPECT_FALSE(recv_waits(a, 1));
  EXPECT_EQ(a.try_send(bytes("late")), QueueStatus::closed);  // its end was let go
}

}  // namespace
}  // namespace shmkit
