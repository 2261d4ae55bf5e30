// The waiting batch forms: ByteQueue's and Queue<T>'s push_batch and
// pop_batch, Pipe's send_batch and recv_batch, with their _for and _until
// forms. A push or send of a batch larger than the ring goes in whole, in
// order, waiting for room; a pop or receive waits for the first message and
// then takes what is ready, at least one with ok. Between two processes
// (and two threads, for the tsan preset), and at the edges: timeouts with
// what went in said, close, interrupt, max 0, a message too large, a dead
// producer's slot, a message of the wrong size.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "queue_test_util.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/queue.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::check_in_child;
using test::numbered;
using test::ScopedName;
using test::spans_of;
using test::text_of;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

// Appends what a batch visits to `into`, as text.
auto collect(std::vector<std::string>& into) {
  return [&into](std::span<const std::byte> m) { into.push_back(text_of(m)); };
}

// Takes batches of up to `max` with `pop` until it says something other than
// ok; checks that each ok batch took 1 to `max` messages and said so.
// Returns that last status; the messages go to `got`.
template <class Pop>
QueueStatus drain(std::size_t max, std::vector<std::string>& got, Pop pop, std::string& error) {
  for (;;) {
    const std::size_t before = got.size();
    std::size_t taken = 99;
    const QueueStatus status = pop(max, taken, collect(got));
    if (taken != got.size() - before) error = "taken says " + std::to_string(taken);
    if (status != QueueStatus::ok) return status;
    if (taken == 0 || taken > max) error = "an ok batch of " + std::to_string(taken);
  }
}

// --- ByteQueue -------------------------------------------------------------

// The child pushes 3000 messages in batches of 100 into a queue of 4, each
// batch whole with one call, then closes; the parent pops them in batches
// of up to 7, waiting whenever the queue is empty: every one once, in
// order, then closed.
TEST(BatchWait, ByteQueueBatchesLargerThanTheQueueGoInWholeBetweenProcesses) {
  const ScopedName name("bw-q-procs");
  const int n = test::scaled_queue(3000);
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 16});
  const pid_t child = test::fork_child([&] {
    auto p = ByteQueue::open(name);
    for (int first = 0; first < n; first += 100) {
      const std::vector<std::string> texts = numbered("m", first, std::min(100, n - first));
      std::size_t pushed = 0;
      const QueueStatus status = p.push_batch_for(spans_of(texts), pushed, test::kGenerous);
      check_in_child(status == QueueStatus::ok, "push_batch");
      check_in_child(pushed == texts.size(), "pushed " + std::to_string(pushed));
    }
    p.close();
  });
  std::vector<std::string> got;
  std::string error;
  const QueueStatus last = drain(
      7, got,
      [&](std::size_t max, std::size_t& taken, auto visit) {
        return q.pop_batch_for(max, taken, test::kGenerous, visit);
      },
      error);
  EXPECT_EQ(last, QueueStatus::closed);
  EXPECT_EQ(error, "");
  EXPECT_EQ(got, numbered("m", 0, n));
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

// Timed out, a batch says how many went in and how many came out.
TEST(BatchWait, ByteQueueTimeoutsSayWhatWentIn) {
  const ScopedName name("bw-q-timeout");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 16});
  const std::vector<std::string> texts = numbered("t", 0, 6);
  std::size_t pushed = 99;
  EXPECT_EQ(q.push_batch_for(spans_of(texts), pushed, 20ms), QueueStatus::timed_out);
  EXPECT_EQ(pushed, 4u);
  EXPECT_EQ(q.push_batch_until(spans_of(texts), pushed, std::chrono::steady_clock::now()),
            QueueStatus::timed_out);
  EXPECT_EQ(pushed, 0u);
  std::vector<std::string> got;
  std::size_t taken = 99;
  EXPECT_EQ(q.pop_batch_for(3, taken, 20ms, collect(got)), QueueStatus::ok);
  EXPECT_EQ(taken, 3u);
  EXPECT_EQ(q.pop_batch_until(8, taken, std::chrono::steady_clock::now(), collect(got)),
            QueueStatus::ok);
  EXPECT_EQ(taken, 1u);
  EXPECT_EQ(got, numbered("t", 0, 4));
  EXPECT_EQ(q.pop_batch_for(8, taken, 20ms, collect(got)), QueueStatus::timed_out);
  EXPECT_EQ(taken, 0u);
  // Not every message waits: the first ones fit at once.
  EXPECT_EQ(q.push_batch_for(spans_of(numbered("u", 0, 2)), pushed, 0ms), QueueStatus::ok);
  EXPECT_EQ(pushed, 2u);
  EXPECT_EQ(q.pop_batch(8, taken, collect(got)), QueueStatus::ok);
  EXPECT_EQ(taken, 2u);
}

// Closed: a push_batch puts in nothing and says closed; a pop_batch takes
// what is left, then says closed. Interrupted: a wait ends, saying how many
// went in before it.
TEST(BatchWait, ByteQueueClosedAndInterrupted) {
  const ScopedName name("bw-q-closed");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 16});
  std::size_t pushed = 99;
  q.interrupt();
  EXPECT_EQ(q.push_batch(spans_of(numbered("i", 0, 6)), pushed), QueueStatus::interrupted);
  EXPECT_EQ(pushed, 4u);
  q.clear_interrupt();
  std::vector<std::string> got;
  std::size_t taken = 99;
  EXPECT_EQ(q.pop_batch(8, taken, collect(got)), QueueStatus::ok);
  EXPECT_EQ(taken, 4u);
  q.interrupt();
  EXPECT_EQ(q.pop_batch(8, taken, collect(got)), QueueStatus::interrupted);
  EXPECT_EQ(taken, 0u);
  q.clear_interrupt();
  ASSERT_EQ(q.push_batch(spans_of(numbered("c", 0, 2)), pushed), QueueStatus::ok);
  q.close();
  EXPECT_EQ(q.push_batch(spans_of(numbered("x", 0, 1)), pushed), QueueStatus::closed);
  EXPECT_EQ(pushed, 0u);
  EXPECT_EQ(q.pop_batch(8, taken, collect(got)), QueueStatus::ok);
  EXPECT_EQ(q.pop_batch(8, taken, collect(got)), QueueStatus::closed);
  EXPECT_EQ(taken, 0u);
  std::vector<std::string> want = numbered("i", 0, 4);
  for (const std::string& t : numbered("c", 0, 2)) want.push_back(t);
  EXPECT_EQ(got, want);
}

// max 0 is not a batch; a message too large pushes none of the batch.
TEST(BatchWait, ByteQueueBadArguments) {
  const ScopedName name("bw-q-bad");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 16});
  std::vector<std::string> got;
  std::size_t taken = 99;
  EXPECT_THROW((void)q.pop_batch(0, taken, collect(got)), std::invalid_argument);
  EXPECT_THROW((void)q.pop_batch_for(0, taken, 1ms, collect(got)), std::invalid_argument);
  const std::vector<std::string> texts = {"fits", std::string(17, 'x')};
  std::size_t pushed = 99;
  EXPECT_EQ(test::thrown_by([&] { (void)q.push_batch(spans_of(texts), pushed); }).code,
            test::code_of(Errc::message_too_large));
  EXPECT_EQ(q.depth(), 0u);
  EXPECT_EQ(q.push_batch(spans_of({}), pushed), QueueStatus::ok);
  EXPECT_EQ(pushed, 0u);
}

// A slot a producer gave up (its Reservation destroyed uncommitted) is
// skipped: a pop_batch that claimed only that slot waits on for a message,
// and times out with none taken rather than return ok with none.
TEST(BatchWait, ByteQueueSkipsAGivenUpSlotAndWaitsOn) {
  const ScopedName name("bw-q-skip");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 16});
  const auto give_up_a_slot = [&] {
    ByteQueue::Reservation r;
    ASSERT_EQ(q.try_reserve(r), QueueStatus::ok);
  };
  std::vector<std::string> got;
  std::size_t taken = 99;
  give_up_a_slot();
  EXPECT_EQ(q.pop_batch_for(8, taken, 20ms, collect(got)), QueueStatus::timed_out);
  EXPECT_EQ(taken, 0u);
  give_up_a_slot();  // and past the deadline already
  EXPECT_EQ(q.pop_batch_until(8, taken, std::chrono::steady_clock::now(), collect(got)),
            QueueStatus::timed_out);
  EXPECT_EQ(taken, 0u);
  EXPECT_EQ(q.depth(), 0u);
  give_up_a_slot();
  std::size_t pushed = 0;
  ASSERT_EQ(q.push_batch(spans_of({"after"}), pushed), QueueStatus::ok);
  EXPECT_EQ(q.pop_batch(8, taken, collect(got)), QueueStatus::ok);
  EXPECT_EQ(taken, 1u);
  EXPECT_EQ(got, std::vector<std::string>{"after"});
}

// --- Queue<T> --------------------------------------------------------------

// Two threads of one process (the tsan preset sees the waits): values in
// batches of 50 through a queue of 8, out in batches of up to 16, every one
// once, in order; then closed.
TEST(BatchWait, TypedQueueBatchesBetweenThreads) {
  const ScopedName name("bw-t-threads");
  const auto n = static_cast<std::uint64_t>(test::scaled_queue(20'000));
  auto q = Queue<std::uint64_t>::create(name, 8);
  std::string producer_error;
  std::thread producer([&] {
    std::vector<std::uint64_t> values(50);
    for (std::uint64_t first = 0; first < n; first += values.size()) {
      values.resize(std::min<std::uint64_t>(50, n - first));
      for (std::size_t i = 0; i < values.size(); ++i) values[i] = first + i;
      std::size_t pushed = 0;
      if (q.push_batch_for(std::span<const std::uint64_t>(values), pushed, test::kGenerous) !=
              QueueStatus::ok ||
          pushed != values.size()) {
        producer_error = "push_batch at " + std::to_string(first);
        break;
      }
    }
    q.close();
  });
  std::vector<std::uint64_t> got;
  QueueStatus status = QueueStatus::ok;
  while (status == QueueStatus::ok) {
    const std::size_t before = got.size();
    status = q.pop_batch_for(16, got, test::kGenerous);
    if (status == QueueStatus::ok) {
      ASSERT_GE(got.size() - before, 1u);
    }
    ASSERT_LE(got.size() - before, 16u);
  }
  producer.join();
  EXPECT_EQ(status, QueueStatus::closed);
  EXPECT_EQ(producer_error, "");
  ASSERT_EQ(got.size(), n);
  for (std::uint64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], i);
}

// A message of the wrong size (pushed through bytes_queue()) is dropped and
// reported once the batch is done; the values around it are appended.
TEST(BatchWait, TypedQueueEdges) {
  const ScopedName name("bw-t-edges");
  auto q = Queue<std::uint32_t>::create(name, 4);
  std::size_t pushed = 99;
  const std::vector<std::uint32_t> values = {1, 2, 3, 4, 5};
  EXPECT_EQ(q.push_batch_for(std::span(values), pushed, 10ms), QueueStatus::timed_out);
  EXPECT_EQ(pushed, 4u);
  std::vector<std::uint32_t> got;
  EXPECT_EQ(q.pop_batch(2, got), QueueStatus::ok);
  EXPECT_EQ(got, (std::vector<std::uint32_t>{1, 2}));
  const std::string odd = "odd";
  ASSERT_EQ(q.bytes_queue().try_push(std::as_bytes(std::span(odd))), QueueStatus::ok);
  EXPECT_EQ(test::thrown_by([&] { (void)q.pop_batch(8, got); }).code, test::code_of(Errc::corrupt));
  EXPECT_EQ(got, (std::vector<std::uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(q.pop_batch_for(8, got, 10ms), QueueStatus::timed_out);
  q.close();
  EXPECT_EQ(q.push_batch(std::span(values), pushed), QueueStatus::closed);
  EXPECT_EQ(q.pop_batch(8, got), QueueStatus::closed);
  EXPECT_EQ(got.size(), 4u);
}

// --- Pipe ------------------------------------------------------------------

// The child sends 3000 messages in batches of 100 through a ring of 4; the
// parent receives them in batches of up to 7, waiting whenever the ring is
// empty. Then the parent sends as many the same way and closes its end,
// and the child receives them until closed. Every one once, in order.
TEST(BatchWait, PipeBatchesLargerThanTheRingGoInWholeBetweenProcesses) {
  const ScopedName name("bw-p-procs");
  const int n = test::scaled_queue(3000);
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  const auto send_all = [&](Pipe& p, const std::string& prefix) {
    for (int first = 0; first < n; first += 100) {
      const std::vector<std::string> texts = numbered(prefix, first, std::min(100, n - first));
      std::size_t sent = 0;
      const QueueStatus status = p.send_batch_for(spans_of(texts), sent, test::kGenerous);
      if (status != QueueStatus::ok || sent != texts.size()) return false;
    }
    return true;
  };
  const auto receive = [](Pipe& p, std::size_t max, std::size_t& taken, auto visit) {
    return p.recv_batch_for(max, taken, test::kGenerous, visit);
  };
  const pid_t child = test::fork_child([&] {
    auto b = Pipe::open(name);
    check_in_child(send_all(b, "b"), "send_batch");
    std::vector<std::string> received;
    std::string error;
    const QueueStatus last = drain(
        7, received,
        [&](std::size_t max, std::size_t& taken, auto visit) {
          return receive(b, max, taken, visit);
        },
        error);
    check_in_child(last == QueueStatus::closed, "the last receive was not closed");
    check_in_child(error.empty(), error);
    check_in_child(received == numbered("a", 0, n), "wrong, lost or out of order");
  });
  std::vector<std::string> got;
  std::string error;
  while (got.size() < static_cast<std::size_t>(n) && error.empty()) {
    const std::size_t before = got.size();
    std::size_t taken = 99;
    if (receive(a, 7, taken, collect(got)) != QueueStatus::ok) error = "recv_batch";
    if (taken == 0 || taken > 7 || taken != got.size() - before) {
      error = "a batch of " + std::to_string(taken);
    }
  }
  EXPECT_EQ(error, "");
  EXPECT_EQ(got, numbered("b", 0, n));
  EXPECT_TRUE(send_all(a, "a"));
  a.close();
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

// Timeouts say what went in; interrupt and close end the waits; max 0 and
// a message too large are refused, nothing sent.
TEST(BatchWait, PipeEdges) {
  const ScopedName name("bw-p-edges");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  std::size_t sent = 99;
  EXPECT_EQ(a.send_batch_for(spans_of(numbered("t", 0, 6)), sent, 20ms), QueueStatus::timed_out);
  EXPECT_EQ(sent, 4u);
  std::vector<std::string> got;
  std::size_t taken = 99;
  EXPECT_EQ(b.recv_batch_for(3, taken, 20ms, collect(got)), QueueStatus::ok);
  EXPECT_EQ(taken, 3u);
  EXPECT_EQ(b.recv_batch(8, taken, collect(got)), QueueStatus::ok);
  EXPECT_EQ(taken, 1u);
  EXPECT_EQ(got, numbered("t", 0, 4));
  EXPECT_EQ(b.recv_batch_until(8, taken, std::chrono::steady_clock::now(), collect(got)),
            QueueStatus::timed_out);
  EXPECT_EQ(taken, 0u);
  EXPECT_THROW((void)b.recv_batch(0, taken, collect(got)), std::invalid_argument);
  EXPECT_EQ(test::thrown_by([&] {
              (void)a.send_batch(spans_of({"fits", std::string(17, 'x')}), sent);
            }).code,
            test::code_of(Errc::message_too_large));
  b.interrupt();
  EXPECT_EQ(b.recv_batch(8, taken, collect(got)), QueueStatus::interrupted);
  b.clear_interrupt();
  a.interrupt();
  EXPECT_EQ(a.send_batch(spans_of(numbered("i", 0, 6)), sent), QueueStatus::interrupted);
  EXPECT_EQ(sent, 4u);
  a.clear_interrupt();
  a.close();
  EXPECT_EQ(a.send_batch(spans_of({"late"}), sent), QueueStatus::closed);
  EXPECT_EQ(sent, 0u);
  EXPECT_EQ(b.recv_batch(8, taken, collect(got)), QueueStatus::ok);
  EXPECT_EQ(taken, 4u);
  EXPECT_EQ(b.recv_batch(8, taken, collect(got)), QueueStatus::closed);
  EXPECT_EQ(taken, 0u);
}

}  // namespace
}  // namespace shmkit
