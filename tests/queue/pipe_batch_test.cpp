// Pipe's batch forms: try_send_batch sends the longest prefix that fits, in
// order, with one hand-over; try_recv_batch visits messages in place and
// frees their slots at once. In order at every ring offset, between two
// processes whose other side sleeps (so a batch's hand-over must wake it),
// between two threads (so the tsan preset sees the batches), and at the
// edges: a message too large, a closed end, a held reservation, a visit that
// throws, a corrupted length.
#include <sys/types.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "queue_test_util.hpp"
#include "shmkit/detail/pipe_layout.hpp"
#include "shmkit/pipe.hpp"

namespace shmkit {
namespace {

using test::check_in_child;
using test::numbered;
using test::ScopedName;
using test::spans_of;
using test::text_of;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

constexpr std::uint32_t kMax = 64;

// Receives what try_recv_batch(max) gives now, as text.
std::vector<std::string> receive_batch(Pipe& p, std::size_t max) {
  std::vector<std::string> got;
  const std::size_t n =
      p.try_recv_batch(max, [&](std::span<const std::byte> m) { got.push_back(text_of(m)); });
  EXPECT_EQ(n, got.size());
  return got;
}

// From every starting offset in a ring of 8: a batch of 11 sends the 8 that
// fit, the rest none until room comes back; receiving 3 makes room for 3
// more; everything arrives once, in order, and the ring is empty after.
TEST(PipeBatch, SendsThePrefixThatFitsAndReceivesInOrderAtEveryOffset) {
  const ScopedName name("pb-offsets");
  auto a = Pipe::create(name, {.capacity = 8, .max_message = 16});
  auto b = Pipe::open(name);
  EXPECT_EQ(a.try_send_batch({}), 0u);
  EXPECT_EQ(receive_batch(b, 5), std::vector<std::string>{});
  for (int offset = 0; offset < 8; ++offset) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    const std::string prefix = "o" + std::to_string(offset) + "-";
    const std::vector<std::string> texts = numbered(prefix, 0, 11);
    const auto spans = spans_of(texts);
    ASSERT_EQ(a.try_send_batch(spans), 8u);
    EXPECT_EQ(a.try_send_batch(std::span(spans).subspan(8)), 0u);
    EXPECT_FALSE(a.closed());
    EXPECT_EQ(receive_batch(b, 3), numbered(prefix, 0, 3));
    ASSERT_EQ(a.try_send_batch(std::span(spans).subspan(8)), 3u);
    EXPECT_EQ(receive_batch(b, 100), numbered(prefix, 3, 8));
    EXPECT_EQ(receive_batch(b, 100), std::vector<std::string>{});
    // One more message moves the next round's start by one slot.
    const std::string step = "step";
    ASSERT_EQ(a.try_send(std::as_bytes(std::span(step))), QueueStatus::ok);
    EXPECT_EQ(receive_batch(b, 1), std::vector<std::string>{"step"});
  }
  // receive_batch(0) takes nothing, and one-at-a-time receives still follow.
  const std::vector<std::string> last = numbered("z", 0, 2);
  ASSERT_EQ(a.try_send_batch(spans_of(last)), 2u);
  EXPECT_EQ(receive_batch(b, 0), std::vector<std::string>{});
  std::string got;
  ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "z0");
  EXPECT_EQ(receive_batch(b, 9), std::vector<std::string>{"z1"});
}

TEST(PipeBatch, AMessageTooLargeSendsNoneOfTheBatch) {
  const ScopedName name("pb-large");
  auto a = Pipe::create(name, {.capacity = 8, .max_message = 16});
  auto b = Pipe::open(name);
  const std::vector<std::string> texts = {"fits", std::string(17, 'x'), "fits too"};
  EXPECT_EQ(test::thrown_by([&] { (void)a.try_send_batch(spans_of(texts)); }).code,
            test::code_of(Errc::message_too_large));
  EXPECT_EQ(receive_batch(b, 8), std::vector<std::string>{});
  const std::vector<std::string> good = {"fits", std::string(16, 'y')};
  ASSERT_EQ(a.try_send_batch(spans_of(good)), 2u);
  EXPECT_EQ(receive_batch(b, 8), good);
}

// A batch while a try_reserve() slot is held is a logic error, as a send;
// after close() a batch sends nothing, and the peer drains what came before.
TEST(PipeBatch, HeldReservationAndClosedEnd) {
  const ScopedName name("pb-closed");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  const std::vector<std::string> texts = numbered("c", 0, 2);
  ASSERT_FALSE(a.try_reserve().empty());
  EXPECT_THROW((void)a.try_send_batch(spans_of(texts)), std::logic_error);
  a.commit(0);
  ASSERT_EQ(a.try_send_batch(spans_of(texts)), 2u);
  a.close();
  EXPECT_EQ(a.try_send_batch(spans_of(texts)), 0u);
  EXPECT_TRUE(a.closed());
  EXPECT_EQ(receive_batch(b, 8), (std::vector<std::string>{"", "c0", "c1"}));
  EXPECT_EQ(receive_batch(b, 8), std::vector<std::string>{});
  EXPECT_TRUE(b.closed());
  EXPECT_EQ(b.try_send_batch(spans_of(texts)), 0u);
}

// The messages a visit returned from are received; the one it threw on
// stays, and the next receive gets it.
TEST(PipeBatch, AVisitThatThrowsKeepsItsMessageForTheNextReceive) {
  const ScopedName name("pb-throw");
  auto a = Pipe::create(name, {.capacity = 8, .max_message = 16});
  auto b = Pipe::open(name);
  ASSERT_EQ(a.try_send_batch(spans_of(numbered("t", 0, 4))), 4u);
  std::vector<std::string> seen;
  EXPECT_THROW((void)b.try_recv_batch(8,
                                      [&](std::span<const std::byte> m) {
                                        if (seen.size() == 2) throw std::runtime_error("visit");
                                        seen.push_back(text_of(m));
                                      }),
               std::runtime_error);
  EXPECT_EQ(seen, numbered("t", 0, 2));
  std::string got;
  ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "t2");
  EXPECT_EQ(receive_batch(b, 8), std::vector<std::string>{"t3"});
  // The two slots freed by the throwing batch are free: the ring takes 8.
  ASSERT_EQ(a.try_send_batch(spans_of(numbered("u", 0, 9))), 8u);
}

// A slot whose length is past max_message ends the batch with Errc::corrupt:
// the messages before it were received, it stays (never a wild read), and
// once its length is put right it and those after it arrive.
TEST(PipeBatch, ACorruptedLengthEndsTheBatchWithTheMessagesBeforeItReceived) {
  const ScopedName name("pb-corrupt");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  const Segment raw = Segment::open(name, test::any_kind());
  auto& head = *reinterpret_cast<detail::PipeHead*>(raw.data().data());  // NOLINT: layout
  auto& slot1 = *reinterpret_cast<detail::QueueSlot*>(                   // NOLINT: layout
      raw.data().data() + head.ring_offset[0] + head.slot_size);
  ASSERT_EQ(a.try_send_batch(spans_of(numbered("k", 0, 3))), 3u);
  slot1.length.store(17);
  std::vector<std::string> seen;
  EXPECT_EQ(test::thrown_by([&] {
              (void)b.try_recv_batch(
                  8, [&](std::span<const std::byte> m) { seen.push_back(text_of(m)); });
            }).code,
            test::code_of(Errc::corrupt));
  EXPECT_EQ(seen, std::vector<std::string>{"k0"});
  std::string got;
  EXPECT_EQ(test::thrown_by([&] { (void)b.try_recv(got); }).code, test::code_of(Errc::corrupt));
  slot1.length.store(2);
  EXPECT_EQ(receive_batch(b, 8), numbered("k", 1, 2));
}

// Batches of 1 to 13 through a ring of 4, so most batches are cut short.
std::string send_in_batches(Pipe& p, std::uint32_t id, std::uint32_t n) {
  std::uint32_t sent = 0;
  while (sent < n) {
    const std::uint32_t want = std::min<std::uint32_t>(n - sent, 1 + (sent * 7) % 13);
    std::vector<std::vector<std::byte>> messages;
    std::vector<std::span<const std::byte>> spans;
    messages.reserve(want);
    for (std::uint32_t k = 0; k < want; ++k) {
      messages.push_back(test::stress_message(id, sent + k, kMax));
      spans.emplace_back(messages.back());
    }
    const std::size_t done = p.try_send_batch(spans);
    sent += static_cast<std::uint32_t>(done);
    // No room: wait for it by sending the first of them the blocking way.
    if (done == 0) {
      if (p.send_for(spans[0], test::kGenerous) != QueueStatus::ok) {
        return "send " + std::to_string(sent);
      }
      ++sent;
    }
  }
  return "";
}

// Receives `n` messages of `id` with try_recv_batch, waiting in poll()
// whenever none is there.
std::string receive_in_batches(Pipe& p, std::uint32_t id, std::uint32_t n) {
  std::uint32_t next = 0;
  std::string error;
  while (next < n && error.empty()) {
    const std::size_t got = p.try_recv_batch(n - next, [&](std::span<const std::byte> m) {
      if (error.empty() && test::check_stress_message(m, kMax) != test::tag_of(id, next)) {
        error = "message " + std::to_string(next) + ": wrong, torn or out of order";
      }
      ++next;
    });
    if (got == 0 && !p.poll(test::kGenerous)) return "poll timed out at " + std::to_string(next);
  }
  return error;
}

// Blocking receives of `n` messages of `id`.
std::string receive_one_by_one(Pipe& p, std::uint32_t id, std::uint32_t n) {
  std::vector<std::byte> got;
  for (std::uint32_t s = 0; s < n; ++s) {
    if (p.recv_for(got, test::kGenerous) != QueueStatus::ok) return "recv " + std::to_string(s);
    if (test::check_stress_message(got, kMax) != test::tag_of(id, s)) {
      return "message " + std::to_string(s) + ": wrong, torn or out of order";
    }
  }
  return "";
}

// Blocking sends of `n` messages of `id`.
std::string send_one_by_one(Pipe& p, std::uint32_t id, std::uint32_t n) {
  for (std::uint32_t s = 0; s < n; ++s) {
    if (p.send_for(test::stress_message(id, s, kMax), test::kGenerous) != QueueStatus::ok) {
      return "send " + std::to_string(s);
    }
  }
  return "";
}

// The child sends in batches to a parent that receives one by one and
// sleeps whenever the ring is empty: each batch's one hand-over must wake
// it. Then the parent sends one by one, sleeping whenever the ring is full,
// to a child that receives in batches: each batch's one release must wake
// it.
TEST(PipeBatch, BatchesBetweenTwoProcessesWakeASleepingPeer) {
  const ScopedName name("pb-procs");
  const auto n = static_cast<std::uint32_t>(test::scaled_queue(40'000));
  auto a = Pipe::create(name, {.capacity = 4, .max_message = kMax});
  const pid_t child = test::fork_child([&] {
    auto b = Pipe::open(name);
    const std::string sent = send_in_batches(b, 1, n);
    check_in_child(sent.empty(), sent);
    const std::string received = receive_in_batches(b, 0, n);
    check_in_child(received.empty(), received);
  });
  EXPECT_EQ(receive_one_by_one(a, 1, n), "");
  EXPECT_EQ(send_one_by_one(a, 0, n), "");
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

// Batches both ways at once between two threads of one process, sharing
// the mapping: the tsan preset sees the batch forms' orderings.
TEST(PipeBatch, BatchesBothWaysAtOnceBetweenThreads) {
  const ScopedName name("pb-threads");
  const auto n = static_cast<std::uint32_t>(test::scaled_queue(20'000));
  auto a = Pipe::create(name, {.capacity = 8, .max_message = kMax});
  auto b = Pipe::open(name);
  std::string a_sent;
  std::string b_sent;
  std::thread a_sender([&] { a_sent = send_in_batches(a, 0, n); });
  std::thread b_sender([&] { b_sent = send_in_batches(b, 1, n); });
  std::string b_received;
  std::thread b_receiver([&] { b_received = receive_in_batches(b, 0, n); });
  EXPECT_EQ(receive_in_batches(a, 1, n), "");
  a_sender.join();
  b_sender.join();
  b_receiver.join();
  EXPECT_EQ(a_sent, "");
  EXPECT_EQ(b_sent, "");
  EXPECT_EQ(b_received, "");
}

}  // namespace
}  // namespace shmkit
