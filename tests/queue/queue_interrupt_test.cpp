// ByteQueue::interrupt() and Queue<T>'s: a push or pop asleep with no
// deadline returns `interrupted` once another thread (or a signal handler,
// in a forked process) interrupts its handle; an interrupt that came before
// the wait ends it at once; other handles keep waiting; the queue works on
// afterwards, once the interrupt is cleared.
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "queue_test_util.hpp"
#include "shmkit/platform/interrupt.hpp"
#include "shmkit/queue.hpp"

namespace shmkit {
namespace {

using test::check_in_child;
using test::ScopedName;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

std::span<const std::byte> as_span(const std::string& s) { return std::as_bytes(std::span(s)); }

// Whether a consumer (producer) of the queue is asleep, or about to be.
bool consumer_waits(const ByteQueue& q) {
  return test::queue_head(q.segment()).consumers_waiting.load() != 0;
}
bool producer_waits(const ByteQueue& q) {
  return test::queue_head(q.segment()).producers_waiting.load() != 0;
}

TEST(ByteQueueInterrupt, EndsAPopAsleepWithNoDeadline) {
  const ScopedName name("qx-pop");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  std::string got = "untouched";
  std::atomic<int> popped{-1};
  std::thread consumer([&] { popped = static_cast<int>(q.pop(got)); });
  ASSERT_TRUE(test::eventually([&] { return consumer_waits(q); }));
  q.interrupt();
  consumer.join();
  EXPECT_EQ(popped.load(), static_cast<int>(QueueStatus::interrupted));
  EXPECT_EQ(got, "untouched");
  EXPECT_FALSE(consumer_waits(q));  // its waiting bit went with it

  // Cleared, the queue works as before: a pop waits for the next message.
  q.clear_interrupt();
  EXPECT_FALSE(q.interrupted());
  std::thread late([&] { popped = static_cast<int>(q.pop(got)); });
  ASSERT_TRUE(test::eventually([&] { return consumer_waits(q); }));
  ASSERT_EQ(q.push(as_span(std::string("m"))), QueueStatus::ok);
  late.join();
  EXPECT_EQ(popped.load(), static_cast<int>(QueueStatus::ok));
  EXPECT_EQ(got, "m");
}

TEST(ByteQueueInterrupt, EndsAPushAsleepOnAFullQueueAddingNothing) {
  const ScopedName name("qx-push");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  ASSERT_EQ(q.push(as_span(std::string("a"))), QueueStatus::ok);
  ASSERT_EQ(q.push(as_span(std::string("b"))), QueueStatus::ok);
  std::atomic<int> pushed{-1};
  std::thread producer([&] { pushed = static_cast<int>(q.push(as_span(std::string("c")))); });
  ASSERT_TRUE(test::eventually([&] { return producer_waits(q); }));
  q.interrupt();
  producer.join();
  EXPECT_EQ(pushed.load(), static_cast<int>(QueueStatus::interrupted));
  EXPECT_EQ(q.depth(), 2u);

  // Still interrupted: a pop needs no wait and takes "a"; a push then has room.
  std::string got;
  ASSERT_EQ(q.pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "a");
  ASSERT_EQ(q.push(as_span(std::string("d"))), QueueStatus::ok);
  EXPECT_EQ(q.push(as_span(std::string("e"))), QueueStatus::interrupted);  // full again
  q.clear_interrupt();
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "b");
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "d");  // never "c" nor "e"
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
}

// Sticky: an interrupt before the wait ends every waiting form at once, until
// cleared, whatever their deadline; the try_ forms never see it.
TEST(ByteQueueInterrupt, AnInterruptBeforeTheWaitEndsItAtOnceUntilCleared) {
  const ScopedName name("qx-sticky");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  q.interrupt();
  EXPECT_TRUE(q.interrupted());
  std::string got;
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
  EXPECT_EQ(q.pop(got), QueueStatus::interrupted);
  EXPECT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::interrupted);
  EXPECT_EQ(q.pop_until(got, std::nullopt), QueueStatus::interrupted);
  ByteQueue::Message message;
  EXPECT_EQ(q.read_until(message, std::nullopt), QueueStatus::interrupted);
  EXPECT_FALSE(message.active());

  ASSERT_EQ(q.try_push(as_span(std::string("a"))), QueueStatus::ok);
  ASSERT_EQ(q.push(as_span(std::string("b"))), QueueStatus::ok);  // room: no wait
  EXPECT_EQ(q.try_push(as_span(std::string("x"))), QueueStatus::full);
  EXPECT_EQ(q.push(as_span(std::string("x"))), QueueStatus::interrupted);
  EXPECT_EQ(q.push_for(as_span(std::string("x")), test::kGenerous), QueueStatus::interrupted);
  ByteQueue::Reservation reservation;
  EXPECT_EQ(q.reserve_until(reservation, std::nullopt), QueueStatus::interrupted);
  EXPECT_FALSE(reservation.active());

  // A moved handle keeps it; cleared, a wait with a deadline waits again.
  ByteQueue moved = std::move(q);
  EXPECT_TRUE(moved.interrupted());
  moved.clear_interrupt();
  EXPECT_EQ(moved.push_for(as_span(std::string("x")), std::chrono::milliseconds(0)),
            QueueStatus::timed_out);
  ASSERT_EQ(moved.pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "a");
  ASSERT_EQ(moved.pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "b");
  EXPECT_EQ(moved.pop_for(got, std::chrono::milliseconds(0)), QueueStatus::timed_out);
}

// The flag is the handle's: a thread asleep on another handle of the queue is
// woken by the interrupt's wake-up, finds nothing, and goes on waiting for
// the message that comes later.
TEST(ByteQueueInterrupt, OtherHandlesOfTheQueueGoOnWaiting) {
  const ScopedName name("qx-other");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  auto other = ByteQueue::open(name);
  std::string got;
  std::atomic<int> popped{-1};
  std::thread consumer([&] { popped = static_cast<int>(other.pop(got)); });
  ASSERT_TRUE(test::eventually([&] { return consumer_waits(q); }));
  q.interrupt();
  ASSERT_EQ(q.try_push(as_span(std::string("m"))), QueueStatus::ok);
  consumer.join();
  EXPECT_EQ(popped.load(), static_cast<int>(QueueStatus::ok));
  EXPECT_EQ(got, "m");
}

TEST(QueueInterrupt, TypedPushAndPopReturnInterrupted) {
  const ScopedName name("qx-typed");
  auto q = Queue<int>::create(name, 2);
  int value = -1;
  std::atomic<int> popped{-1};
  std::thread consumer([&] { popped = static_cast<int>(q.pop(value)); });
  ASSERT_TRUE(test::eventually([&] { return consumer_waits(q.bytes_queue()); }));
  q.interrupt();
  consumer.join();
  EXPECT_EQ(popped.load(), static_cast<int>(QueueStatus::interrupted));
  EXPECT_EQ(value, -1);
  EXPECT_TRUE(q.interrupted());
  ASSERT_EQ(q.push(1), QueueStatus::ok);
  ASSERT_EQ(q.push(2), QueueStatus::ok);
  EXPECT_EQ(q.push(3), QueueStatus::interrupted);
  EXPECT_EQ(q.push_for(3, test::kGenerous), QueueStatus::interrupted);
  q.clear_interrupt();
  ASSERT_EQ(q.pop(value), QueueStatus::ok);
  EXPECT_EQ(value, 1);
  ASSERT_EQ(q.pop(value), QueueStatus::ok);
  EXPECT_EQ(value, 2);
  EXPECT_EQ(q.depth(), 0u);
}

void interrupt_queue(void* queue) noexcept { static_cast<ByteQueue*>(queue)->interrupt(); }

// What the shmkit tool does: a signal handler (InterruptWatch's hook) ends a
// pop asleep in a forked process, which then leaves the queue as it found it.
TEST(ByteQueueInterruptIpc, ASignalHookEndsAPopAsleepInAnotherProcess) {
  const ScopedName name("qx-signal");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  const pid_t child = test::fork_child([&] {
    platform::InterruptWatch interrupts;
    auto mine = ByteQueue::open(name);
    interrupts.set_hook({&interrupt_queue, &mine});
    std::string got;
    const QueueStatus status = mine.pop(got);
    interrupts.set_hook({});  // before `mine` goes
    check_in_child(status == QueueStatus::interrupted,
                   "pop returned " + std::to_string(static_cast<int>(status)));
    check_in_child(interrupts.signal() == SIGINT, "no SIGINT seen");
  });
  const test::KillOnExit reaper(child);
  ASSERT_TRUE(test::eventually([&] { return consumer_waits(q); }));
  ASSERT_EQ(::kill(child, SIGINT), 0);
  EXPECT_EQ(test::wait_exit_code(child), 0);
  EXPECT_FALSE(consumer_waits(q));
  std::string got;
  ASSERT_EQ(q.try_push(as_span(std::string("m"))), QueueStatus::ok);
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "m");
}

}  // namespace
}  // namespace shmkit
