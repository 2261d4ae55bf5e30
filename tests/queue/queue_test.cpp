// ByteQueue and Queue<T> in one process: close, timeouts, try_ forms,
// MessageTooLarge, wrap-around, batches, zero-copy loans, typed queues, bad
// input (wrong kind or type, corrupted indices), and the MPMC algorithm on
// threads sharing a mapping (so the tsan preset sees it).
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../list/list_test_util.hpp"
#include "queue_test_util.hpp"
#include "shmkit/detail/queue_layout.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/queue.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::any_kind;
using test::ScopedName;
using Clock = std::chrono::steady_clock;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

std::span<const std::byte> as_span(const std::string& s) { return std::as_bytes(std::span(s)); }

std::string pattern(std::size_t length, std::uint64_t tag) {
  std::string s(length, '\0');
  for (std::size_t i = 0; i < length; ++i) s[i] = static_cast<char>('a' + (tag + i * 7) % 26);
  return s;
}

TEST(ByteQueue, RoundTripsMessagesInOrderWithTheirLengths) {
  const ScopedName name("q-round");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 64});
  EXPECT_EQ(q.capacity(), 8u);
  EXPECT_EQ(q.max_message(), 64u);
  for (std::size_t len : {0u, 1u, 63u, 64u}) {
    ASSERT_EQ(q.try_push(as_span(pattern(len, len))), QueueStatus::ok);
  }
  EXPECT_EQ(q.depth(), 4u);
  std::string got;
  for (std::size_t len : {0u, 1u, 63u, 64u}) {
    ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
    EXPECT_EQ(got, pattern(len, len));
  }
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
  EXPECT_EQ(q.depth(), 0u);
}

TEST(ByteQueue, TryFormsReportFullAndEmpty) {
  const ScopedName name("q-try");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 8});
  std::vector<std::byte> out;
  EXPECT_EQ(q.try_pop(out), QueueStatus::empty);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(q.try_push(as_span(std::string("x"))), QueueStatus::ok);
  EXPECT_EQ(q.try_push(as_span(std::string("y"))), QueueStatus::full);
  EXPECT_EQ(q.depth(), 4u);
  ASSERT_EQ(q.try_pop(out), QueueStatus::ok);
  EXPECT_EQ(q.try_push(as_span(std::string("y"))), QueueStatus::ok);
}

TEST(ByteQueue, TimeoutFormsReportTimedOutOnFullAndEmpty) {
  const ScopedName name("q-timeout");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  std::string got;
  EXPECT_EQ(q.pop_for(got, 30ms), QueueStatus::timed_out);
  ASSERT_EQ(q.push(as_span(std::string("a"))), QueueStatus::ok);
  ASSERT_EQ(q.push(as_span(std::string("b"))), QueueStatus::ok);
  EXPECT_EQ(q.push_for(as_span(std::string("c")), 30ms), QueueStatus::timed_out);
  // A timeout past the dead-peer check interval (20 ms) still times out.
  EXPECT_EQ(q.push_for(as_span(std::string("c")), 60ms), QueueStatus::timed_out);
  EXPECT_EQ(q.pop_for(got, 30ms), QueueStatus::ok);
  EXPECT_EQ(got, "a");
  EXPECT_EQ(q.push_for(as_span(std::string("c")), 30ms), QueueStatus::ok);
}

TEST(ByteQueue, TooLargeMessageThrowsAndWritesNothing) {
  const ScopedName name("q-large");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 16});
  ASSERT_EQ(q.try_push(as_span(std::string("keep"))), QueueStatus::ok);
  const std::string big(17, 'z');
  EXPECT_EQ(test::thrown_by([&] { (void)q.try_push(as_span(big)); }).code,
            test::code_of(Errc::message_too_large));
  EXPECT_EQ(test::thrown_by([&] { (void)q.push(as_span(big)); }).code,
            test::code_of(Errc::message_too_large));
  const std::array<std::span<const std::byte>, 2> batch{as_span(std::string("ok")), as_span(big)};
  EXPECT_EQ(test::thrown_by([&] { (void)q.try_push_batch(batch); }).code,
            test::code_of(Errc::message_too_large));
  ByteQueue::Reservation r;
  ASSERT_EQ(q.try_reserve(r), QueueStatus::ok);
  EXPECT_EQ(test::thrown_by([&] { r.commit(17); }).code, test::code_of(Errc::message_too_large));
  r = ByteQueue::Reservation{};  // abandoned: skipped
  EXPECT_EQ(q.depth(), 2u);      // the abandoned slot is a tombstone
  std::string got;
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "keep");
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
}

// Into a caller's buffer: a buffer smaller than max_message takes nothing,
// even when the message waiting would fit it (another consumer's might not,
// and a taken message cannot be given back).
TEST(ByteQueue, PopsIntoACallersBufferThatHoldsMaxMessageAndTakesNothingOtherwise) {
  const ScopedName name("q-into");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 100});
  std::array<std::byte, 99> small{};
  std::array<std::byte, 128> buffer{};
  std::size_t length = 7;
  EXPECT_EQ(q.try_pop(buffer, length), QueueStatus::empty);
  EXPECT_EQ(q.pop_for(buffer, length, 10ms), QueueStatus::timed_out);
  EXPECT_EQ(q.pop_until(buffer, length, Clock::now() + 10ms), QueueStatus::timed_out);
  EXPECT_EQ(length, 7u);  // untouched while nothing came
  const std::string hundred = pattern(100, 3);
  ASSERT_EQ(q.try_push(as_span(std::string("hello"))), QueueStatus::ok);
  ASSERT_EQ(q.try_push({}), QueueStatus::ok);
  ASSERT_EQ(q.try_push(as_span(hundred)), QueueStatus::ok);
  for (const auto& pop_small : std::initializer_list<std::function<void()>>{
           [&] { (void)q.try_pop(small, length); }, [&] { (void)q.pop(small, length); },
           [&] { (void)q.pop_for(small, length, 10ms); },
           [&] { (void)q.pop_until(small, length, Clock::now() + 10ms); }}) {
    EXPECT_EQ(test::thrown_by(pop_small).code, test::code_of(Errc::message_too_large));
  }
  EXPECT_EQ(q.depth(), 3u);
  auto text = [&] {
    return std::string(reinterpret_cast<const char*>(buffer.data()), length);  // NOLINT
  };
  ASSERT_EQ(q.try_pop(buffer, length), QueueStatus::ok);
  EXPECT_EQ(text(), "hello");
  ASSERT_EQ(q.pop(buffer, length), QueueStatus::ok);
  EXPECT_EQ(length, 0u);
  ASSERT_EQ(q.pop_for(std::span(buffer).first(100), length, 10ms), QueueStatus::ok);
  EXPECT_EQ(text(), hundred);
  EXPECT_EQ(q.try_pop(buffer, length), QueueStatus::empty);
  q.close();
  EXPECT_EQ(q.pop(buffer, length), QueueStatus::closed);
}

TEST(ByteQueue, WrapsAroundAtEveryOffsetWithEveryLength) {
  for (const std::uint32_t capacity : {4u, 8u}) {
    const ScopedName name("q-wrap");
    const std::uint32_t max = 2 * static_cast<std::uint32_t>(detail::kCacheLine);
    auto q = ByteQueue::create(name, {.capacity = capacity, .max_message = max});
    std::uint64_t pushed = 0;
    std::uint64_t popped = 0;
    std::string got;
    // Fills of 1..capacity messages, many laps: every start offset, every length.
    for (int lap = 0; lap < 40; ++lap) {
      for (std::uint32_t fill = 1; fill <= capacity; ++fill) {
        for (std::uint32_t i = 0; i < fill; ++i, ++pushed) {
          ASSERT_EQ(q.try_push(as_span(pattern(pushed % (max + 1), pushed))), QueueStatus::ok);
        }
        for (std::uint32_t i = 0; i < fill; ++i, ++popped) {
          ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
          ASSERT_EQ(got, pattern(popped % (max + 1), popped)) << "message " << popped;
        }
        ASSERT_EQ(q.try_pop(got), QueueStatus::empty);
      }
    }
  }
}

TEST(ByteQueue, CloseMakesPushesClosedAndLetsConsumersDrain) {
  const ScopedName name("q-close");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 8});
  ASSERT_EQ(q.push(as_span(std::string("1"))), QueueStatus::ok);
  ASSERT_EQ(q.push(as_span(std::string("2"))), QueueStatus::ok);
  EXPECT_FALSE(q.closed());
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_EQ(q.try_push(as_span(std::string("3"))), QueueStatus::closed);
  EXPECT_EQ(q.push(as_span(std::string("3"))), QueueStatus::closed);
  ByteQueue::Reservation r;
  EXPECT_EQ(q.try_reserve(r), QueueStatus::closed);
  std::string got;
  ASSERT_EQ(q.pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "1");
  ASSERT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::ok);
  EXPECT_EQ(got, "2");
  EXPECT_EQ(q.try_pop(got), QueueStatus::closed);
  EXPECT_EQ(q.pop(got), QueueStatus::closed);
}

TEST(ByteQueue, CloseWakesBlockedProducersAndConsumers) {
  const ScopedName name("q-close-wake");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  auto empty_q = ByteQueue::open(name);
  ASSERT_EQ(q.push(as_span(std::string("a"))), QueueStatus::ok);
  ASSERT_EQ(q.push(as_span(std::string("b"))), QueueStatus::ok);
  const ScopedName name2("q-close-wake2");
  auto q2 = ByteQueue::create(name2, {.capacity = 2, .max_message = 8});
  std::atomic<int> producer_result{-1};
  std::atomic<int> consumer_result{-1};
  std::thread producer([&] {
    producer_result = static_cast<int>(q.push_for(as_span(std::string("c")), test::kGenerous));
  });
  std::thread consumer([&] {
    std::string got;
    consumer_result = static_cast<int>(q2.pop_for(got, test::kGenerous));
  });
  // Wait until both are asleep (or about to be), then close.
  ASSERT_TRUE(test::eventually([&] {
    auto* h = reinterpret_cast<detail::QueueHead*>(q.segment().data().data());    // NOLINT
    auto* h2 = reinterpret_cast<detail::QueueHead*>(q2.segment().data().data());  // NOLINT
    return h->producers_waiting.load() != 0 && h2->consumers_waiting.load() != 0;
  }));
  q.close();
  q2.close();
  producer.join();
  consumer.join();
  EXPECT_EQ(producer_result.load(), static_cast<int>(QueueStatus::closed));
  EXPECT_EQ(consumer_result.load(), static_cast<int>(QueueStatus::closed));
}

// A batch hands its slots over with plain stores and checks for sleepers once
// at the end: a peer asleep by then must be woken through its futex word.
TEST(ByteQueue, BatchesWakeSleepingPeers) {
  const ScopedName name("q-batch-wake");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  auto* h = reinterpret_cast<detail::QueueHead*>(q.segment().data().data());  // NOLINT
  const std::string x = "x";
  const std::string y = "y";
  const std::array<std::span<const std::byte>, 2> both{as_span(x), as_span(y)};

  std::string got;
  std::atomic<int> popped{-1};
  std::thread consumer([&] { popped = static_cast<int>(q.pop_for(got, test::kGenerous)); });
  ASSERT_TRUE(test::eventually([&] { return h->consumers_waiting.load() != 0; }));
  const std::uint32_t not_empty = h->not_empty.load();
  EXPECT_EQ(q.try_push_batch(both), 2u);
  consumer.join();
  EXPECT_EQ(popped.load(), static_cast<int>(QueueStatus::ok));
  EXPECT_EQ(got, "x");
  EXPECT_NE(h->not_empty.load(), not_empty);  // woken, not found by its periodic look

  ASSERT_EQ(q.try_push(as_span(std::string("z"))), QueueStatus::ok);  // full: y, z
  std::atomic<int> pushed{-1};
  std::thread producer(
      [&] { pushed = static_cast<int>(q.push_for(as_span(std::string("w")), test::kGenerous)); });
  ASSERT_TRUE(test::eventually([&] { return h->producers_waiting.load() != 0; }));
  const std::uint32_t not_full = h->not_full.load();
  std::vector<std::string> drained;
  EXPECT_EQ(q.try_pop_batch(2,
                            [&](std::span<const std::byte> m) {
                              drained.emplace_back(reinterpret_cast<const char*>(m.data()),
                                                   m.size());  // NOLINT
                            }),
            2u);
  producer.join();
  EXPECT_EQ(pushed.load(), static_cast<int>(QueueStatus::ok));
  EXPECT_EQ(drained, (std::vector<std::string>{"y", "z"}));
  EXPECT_NE(h->not_full.load(), not_full);
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "w");
}

TEST(ByteQueue, PushRacingWithCloseLandsAndIsDrainedOrReturnsClosed) {
  for (int trial = 0; trial < test::scaled_queue(20); ++trial) {
    const ScopedName name("q-close-race");
    auto q = ByteQueue::create(name, {.capacity = 16, .max_message = 16});
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> producers;
    for (int p = 0; p < 3; ++p) {
      producers.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (;;) {
          const QueueStatus s = q.push_for(as_span(std::string("m")), test::kGenerous);
          if (s == QueueStatus::closed) return;
          if (s != QueueStatus::ok) {
            ADD_FAILURE() << "push: " << static_cast<int>(s);
            return;
          }
          ++accepted;
        }
      });
    }
    std::uint64_t drained = 0;
    std::string got;
    go = true;
    while (drained < 50 + static_cast<std::uint64_t>(trial) * 7) {
      ASSERT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::ok);
      ++drained;
    }
    q.close();
    for (;;) {
      const QueueStatus s = q.pop_for(got, test::kGenerous);
      if (s == QueueStatus::closed) break;
      ASSERT_EQ(s, QueueStatus::ok);
      ++drained;
    }
    for (auto& t : producers) t.join();
    EXPECT_EQ(drained, accepted.load());
  }
}

TEST(ByteQueue, BatchPushAndPopKeepOrder) {
  const ScopedName name("q-batch");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 32});
  std::vector<std::string> texts;
  for (int i = 0; i < 12; ++i) texts.push_back(pattern(static_cast<std::size_t>(i) * 2, i));
  std::vector<std::span<const std::byte>> spans;
  for (const auto& t : texts) spans.push_back(as_span(t));
  // Only 8 fit: the longest prefix that fits goes in.
  ASSERT_EQ(q.try_push_batch(spans), 8u);
  EXPECT_EQ(q.try_push_batch(std::span(spans).subspan(8)), 0u);
  std::vector<std::string> got;
  auto visit = [&](std::span<const std::byte> m) {
    got.emplace_back(reinterpret_cast<const char*>(m.data()), m.size());  // NOLINT: bytes
  };
  EXPECT_EQ(q.try_pop_batch(3, visit), 3u);
  ASSERT_EQ(q.try_push_batch(std::span(spans).subspan(8)), 3u);  // 3 of 4 fit
  EXPECT_EQ(q.try_pop_batch(1, visit), 1u);
  ASSERT_EQ(q.try_push_batch(std::span(spans).subspan(11)), 1u);
  EXPECT_EQ(q.try_pop_batch(100, visit), 8u);
  EXPECT_EQ(q.try_pop_batch(100, visit), 0u);
  EXPECT_EQ(got, texts);
  q.close();
  EXPECT_EQ(q.try_push_batch(spans), 0u);
}

TEST(ByteQueue, ZeroCopyReservationCommitsAndAbandonedOneIsSkipped) {
  const ScopedName name("q-zc");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 100});
  {
    ByteQueue::Reservation r;
    ASSERT_EQ(q.try_reserve(r), QueueStatus::ok);
    ASSERT_TRUE(r.active());
    ASSERT_EQ(r.data().size(), 100u);
    std::memcpy(r.data().data(), "hello", 5);
    // One Reservation per thread at a time.
    ByteQueue::Reservation second;
    EXPECT_THROW((void)q.try_reserve(second), std::logic_error);
    EXPECT_THROW((void)q.try_push(as_span(std::string("x"))), std::logic_error);
    r.commit(5);
    EXPECT_FALSE(r.active());
    EXPECT_THROW(r.commit(1), std::logic_error);
  }
  {
    ByteQueue::Reservation abandoned;
    ASSERT_EQ(q.reserve_until(abandoned, std::nullopt), QueueStatus::ok);
    std::memcpy(abandoned.data().data(), "lost", 4);
  }
  ASSERT_EQ(q.try_push(as_span(std::string("after"))), QueueStatus::ok);
  ByteQueue::Message m;
  ASSERT_EQ(q.try_read(m), QueueStatus::ok);
  ASSERT_TRUE(m.active());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data().data()), m.data().size()),  // NOLINT
            "hello");
  // A thread holding a Message can't read another.
  ByteQueue::Message other;
  EXPECT_THROW((void)q.try_read(other), std::logic_error);
  std::string s;
  EXPECT_THROW((void)q.try_pop(s), std::logic_error);
  m.release();
  EXPECT_FALSE(m.active());
  ASSERT_EQ(q.read_until(m, std::nullopt), QueueStatus::ok);  // the abandoned slot is skipped
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data().data()), m.data().size()),  // NOLINT
            "after");
  m = ByteQueue::Message{};
  EXPECT_EQ(q.try_read(m), QueueStatus::empty);
}

TEST(ByteQueue, LoansReleasedOnAnotherThreadFreeTheThreadThatTookThem) {
  const ScopedName name("q-loan-thread");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 8});
  for (const char* text : {"one", "two", "three"}) {
    ASSERT_EQ(q.try_push(std::as_bytes(std::span(text, std::strlen(text)))), QueueStatus::ok);
  }
  ByteQueue::Message m;
  ASSERT_EQ(q.try_read(m), QueueStatus::ok);
  ByteQueue::Reservation r;
  ASSERT_EQ(q.try_reserve(r), QueueStatus::ok);
  std::thread([&] {
    // This thread reads one of its own first: the release below must not
    // touch its record, only the record of the thread that took m.
    ByteQueue::Message mine;
    ASSERT_EQ(q.try_read(mine), QueueStatus::ok);
    m.release();
    r.commit(0);
    EXPECT_TRUE(mine.active());
    EXPECT_THROW((void)q.try_read(m), std::logic_error);  // it still holds `mine`
  }).join();
  // This thread holds nothing now: it can read and reserve again.
  ASSERT_EQ(q.try_read(m), QueueStatus::ok);
  EXPECT_EQ(m.data().size(), 5u);  // "three"
  m.release();
  ASSERT_EQ(q.try_reserve(r), QueueStatus::ok);
  r.commit(0);
}

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT: byte view
}

// A claim lives as long as its process, not the thread that made it: a
// Reservation handed to another thread, its maker exited, is not recovered by
// a waiting consumer (which once tombstoned it, so that the late commit
// overwrote the next producer's message).
TEST(ByteQueue, AReservationOutlivingTheThreadThatMadeItIsStillHeld) {
  const ScopedName name("q-loan-outlives");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 8});
  ByteQueue::Reservation r;
  std::thread([&] {
    ByteQueue::Reservation made;
    ASSERT_EQ(q.try_reserve(made), QueueStatus::ok);
    std::memcpy(made.data().data(), "late", 4);
    r = std::move(made);
  }).join();
  ASSERT_TRUE(r.active());
  std::string got;
  // A wait looks for a dead holder every check interval and at its deadline.
  EXPECT_EQ(q.pop_for(got, 50ms), QueueStatus::timed_out);
  std::thread([&] {
    ASSERT_EQ(q.try_push(as_span(std::string("p1"))), QueueStatus::ok);
    ASSERT_EQ(q.try_push(as_span(std::string("p2"))), QueueStatus::ok);
  }).join();
  r.commit(4);
  for (const char* want : {"late", "p1", "p2"}) {
    ASSERT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::ok);
    EXPECT_EQ(got, want);
  }
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
}

// The same for a Message: a producer waiting for its slot does not take it
// back, and its bytes do not change under the holder.
TEST(ByteQueue, AMessageOutlivingTheThreadThatReadItIsStillHeld) {
  const ScopedName name("q-msg-outlives");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 8});
  ASSERT_EQ(q.try_push(as_span(std::string("first"))), QueueStatus::ok);
  ASSERT_EQ(q.try_push(as_span(std::string("second"))), QueueStatus::ok);
  ByteQueue::Message m;
  std::thread([&] {
    ByteQueue::Message read;
    ASSERT_EQ(q.try_read(read), QueueStatus::ok);
    m = std::move(read);
  }).join();
  ASSERT_TRUE(m.active());
  EXPECT_EQ(q.push_for(as_span(std::string("third")), 50ms), QueueStatus::timed_out);
  EXPECT_EQ(text_of(m.data()), "first");
  m.release();
  ASSERT_EQ(q.push_for(as_span(std::string("third")), test::kGenerous), QueueStatus::ok);
  std::string got;
  for (const char* want : {"second", "third"}) {
    ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
    EXPECT_EQ(got, want);
  }
}

// A thread caches the index of its record in each of the last 8 queues it
// used. One that uses more finds its records again, with no second one; a
// forked child, whose inherited cache names the parent's records, takes its
// own.
TEST(ByteQueue, AThreadFindsItsRecordsInMoreQueuesThanItCaches) {
  constexpr std::size_t kQueues = 12;
  std::deque<ScopedName> names;
  std::vector<ByteQueue> queues;
  for (std::size_t i = 0; i < kQueues; ++i) {
    names.emplace_back("q-cache-" + std::to_string(i));
    queues.push_back(ByteQueue::create(names.back(), {.capacity = 4, .max_message = 16}));
  }
  std::string got;
  for (std::size_t round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < kQueues; ++i) {
      const std::string text = std::to_string(round) + "/" + std::to_string(i);
      ASSERT_EQ(queues[i].try_push(as_span(text)), QueueStatus::ok);
      ASSERT_EQ(queues[i].try_pop(got), QueueStatus::ok);
      EXPECT_EQ(got, text);
    }
  }
  for (const ByteQueue& q : queues) {
    EXPECT_EQ(q.producers(), 1u);
    EXPECT_EQ(q.consumers(), 1u);
  }
  const pid_t child = test::fork_child([&] {
    for (std::size_t i = 0; i < kQueues; ++i) {
      const std::string text = "child " + std::to_string(i);
      test::check_in_child(queues[i].try_push(as_span(text)) == QueueStatus::ok, "push");
      test::check_in_child(queues[i].producers() == 2, "a record of its own");
    }
  });
  ASSERT_EQ(test::wait_exit_code(child), 0);
  for (std::size_t i = 0; i < kQueues; ++i) {
    ASSERT_EQ(queues[i].try_pop(got), QueueStatus::ok);
    EXPECT_EQ(got, "child " + std::to_string(i));
    EXPECT_EQ(queues[i].try_pop(got), QueueStatus::empty);
  }
}

TEST(Queue, TypedRoundTripKeepsValues) {
  struct Point {
    std::int64_t x;
    double y;
  };
  const ScopedName name("q-typed");
  auto q = Queue<Point>::create(name, 4);
  auto reader = Queue<Point>::open(name);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(q.try_push({i, i * 0.5}), QueueStatus::ok);
    Point p{};
    ASSERT_EQ(reader.pop_for(p, test::kGenerous), QueueStatus::ok);
    EXPECT_EQ(p.x, i);
    EXPECT_EQ(p.y, i * 0.5);
  }
  Point p{};
  EXPECT_EQ(reader.try_pop(p), QueueStatus::empty);
  EXPECT_EQ(reader.pop_for(p, 10ms), QueueStatus::timed_out);
  q.close();
  EXPECT_EQ(q.push(Point{1, 1}), QueueStatus::closed);
  EXPECT_EQ(reader.pop(p), QueueStatus::closed);
}

// Queue<T> has ByteQueue's batches, deadlines and figures in its own terms.
TEST(Queue, TypedBatchesDeadlinesAndFigures) {
  const ScopedName name("q-typed-batch");
  auto q = Queue<std::int64_t>::create(name, 64);
  EXPECT_EQ(q.capacity(), 64u);
  EXPECT_EQ(q.segment().name(), name.str());
  std::vector<std::int64_t> values(100);
  std::iota(values.begin(), values.end(), 1000);
  // 64 fit: two claims of 32, then full.
  EXPECT_EQ(q.try_push_batch(std::span<const std::int64_t>(values)), 64u);
  EXPECT_EQ(q.depth(), 64u);
  EXPECT_EQ(q.producers(), 1u);
  EXPECT_EQ(q.push_until(7, Clock::now() + 10ms), QueueStatus::timed_out);
  std::vector<std::int64_t> got{-1};  // appended to
  EXPECT_EQ(q.try_pop_batch(40, got), 40u);
  EXPECT_EQ(q.try_pop_batch(100, got), 24u);
  EXPECT_EQ(q.consumers(), 1u);
  ASSERT_EQ(got.size(), 65u);
  EXPECT_EQ(got.front(), -1);
  for (std::size_t i = 0; i < 64; ++i) EXPECT_EQ(got[i + 1], values[i]) << i;
  std::int64_t one = 0;
  EXPECT_EQ(q.pop_until(one, Clock::now() + 10ms), QueueStatus::timed_out);
  ASSERT_EQ(q.push_until(7, std::nullopt), QueueStatus::ok);
  ASSERT_EQ(q.pop_until(one, std::nullopt), QueueStatus::ok);
  EXPECT_EQ(one, 7);
  EXPECT_EQ(q.depth(), 0u);
}

// Queue<T> asks only that T be trivially copyable: a T with no default
// constructor goes through every form, batches too.
TEST(Queue, ATypeWithNoDefaultConstructorPassesThroughBatches) {
  struct Reading {
    explicit Reading(std::int32_t v) : value(v), twice(2 * v) {}
    std::int32_t value;
    std::int32_t twice;
  };
  static_assert(!std::is_default_constructible_v<Reading>);
  const ScopedName name("q-no-default");
  auto q = Queue<Reading>::create(name, 8);
  const std::vector<Reading> in{Reading(1), Reading(2), Reading(3)};
  ASSERT_EQ(q.try_push_batch(in), 3u);
  ASSERT_EQ(q.push(Reading(4)), QueueStatus::ok);
  std::vector<Reading> out;
  ASSERT_EQ(q.try_pop_batch(3, out), 3u);
  Reading last(0);
  ASSERT_EQ(q.pop(last), QueueStatus::ok);
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].value, in[i].value) << i;
    EXPECT_EQ(out[i].twice, in[i].twice) << i;
  }
  EXPECT_EQ(last.value, 4);
  EXPECT_EQ(last.twice, 8);
}

TEST(Queue, OpenWithWrongTypeOrKindIsAClearError) {
  const ScopedName name("q-wrong");
  auto q = Queue<std::uint32_t>::create(name, 4);
  EXPECT_EQ(test::thrown_by([&] { (void)Queue<double>::open(name); }).code,
            test::code_of(Errc::type_mismatch));
  EXPECT_EQ(test::thrown_by([&] { (void)Pipe::open(name); }).code, test::code_of(Errc::wrong_kind));
  const ScopedName pipe_name("q-wrong-pipe");
  auto pipe = Pipe::create(pipe_name);
  EXPECT_EQ(test::thrown_by([&] { (void)ByteQueue::open(pipe_name); }).code,
            test::code_of(Errc::wrong_kind));
  EXPECT_EQ(test::thrown_by([&] { (void)Queue<int>::open(pipe_name); }).code,
            test::code_of(Errc::wrong_kind));
  const ScopedName missing("q-missing");
  EXPECT_EQ(test::thrown_by([&] { (void)ByteQueue::open(missing); }).code,
            test::code_of(Errc::not_found));
  // A ByteQueue given a type's fingerprint by hand, with room for more than
  // one value of it per message: not a queue of that type.
  const ScopedName wide("q-wrong-width");
  SegmentOptions typed;
  typed.type = TypeFingerprint::of<std::uint32_t>();
  auto bytes = ByteQueue::create(wide, {.capacity = 4, .max_message = 8}, typed);
  const test::Thrown t = test::thrown_by([&] { (void)Queue<std::uint32_t>::open(wide); });
  EXPECT_EQ(t.code, test::code_of(Errc::type_mismatch)) << t.message;
  EXPECT_NE(t.message.find("up to 8 bytes"), std::string::npos) << t.message;
}

// Each setting out of range, or both in range and their product past what one
// object may have: invalid_argument naming the setting, and nothing created.
TEST(ByteQueue, CreateRefusesSettingsOutOfRangeAndAnImpossibleTotal) {
  const ScopedName name("q-cfg");
  const std::error_code invalid = std::make_error_code(std::errc::invalid_argument);
  for (const QueueConfig config :
       {QueueConfig{.capacity = 0, .max_message = 8}, QueueConfig{.capacity = 8, .max_message = 0},
        QueueConfig{.capacity = (1u << 24) + 1, .max_message = 8},
        QueueConfig{.capacity = 8, .max_message = (64u << 20) + 1}}) {
    const test::Thrown t = test::thrown_by([&] { (void)ByteQueue::create(name, config); });
    EXPECT_EQ(t.code, invalid) << t.message;
    EXPECT_NE(t.message.find("capacity must be 1..16777216 and max_message 1..67108864"),
              std::string::npos)
        << t.message;
  }
  const QueueConfig huge{.capacity = 1u << 24, .max_message = 64u << 20};
  const test::Thrown queue = test::thrown_by([&] { (void)ByteQueue::create(name, huge); });
  EXPECT_EQ(queue.code, invalid);
  EXPECT_NE(queue.message.find("queue '" + name.str() +
                               "': capacity 16777216 slots x max_message 67108864 needs"),
            std::string::npos)
      << queue.message;
  const test::Thrown pipe = test::thrown_by(
      [&] { (void)Pipe::create(name, {.capacity = 1u << 24, .max_message = 64u << 20}); });
  EXPECT_EQ(pipe.code, invalid);
  EXPECT_NE(pipe.message.find("more than an object may have"), std::string::npos) << pipe.message;
  EXPECT_EQ(test::thrown_by([&] { (void)ByteQueue::open(name); }).code,
            test::code_of(Errc::not_found));
}

TEST(ByteQueue, OpenOrCreateKeepsTheFirstConfig) {
  const ScopedName name("q-ooc");
  auto a = ByteQueue::open_or_create(name, {.capacity = 4, .max_message = 10});
  auto b = ByteQueue::open_or_create(name, {.capacity = 64, .max_message = 99});
  EXPECT_EQ(b.capacity(), 4u);
  EXPECT_EQ(b.max_message(), 10u);
  ASSERT_EQ(a.try_push(as_span(std::string("x"))), QueueStatus::ok);
  std::string got;
  ASSERT_EQ(b.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "x");
}

// --------------------------------------------------------------- corruption

using test::queue_head;

// Runs every operation once; each may report an outcome or Errc::corrupt,
// nothing else (and ASan sees no wild access).
void exercise(ByteQueue& q) {
  auto acceptable = [](const std::function<void()>& op) {
    const test::Thrown t = test::thrown_by(op);
    EXPECT_TRUE(!t.code || t.code == test::code_of(Errc::corrupt)) << t.message;
  };
  std::string got;
  for (int i = 0; i < 2; ++i) {
    acceptable([&] { (void)q.try_push(as_span(std::string("abc"))); });
    acceptable([&] { (void)q.push_for(as_span(std::string("abc")), 5ms); });
    acceptable([&] { (void)q.try_pop(got); });
    acceptable([&] { (void)q.pop_for(got, 5ms); });
    acceptable([&] { (void)q.try_pop_batch(4, [](std::span<const std::byte>) {}); });
    acceptable([&] {
      ByteQueue::Message m;
      (void)q.try_read(m);
    });
  }
  (void)q.depth();
  (void)q.producers();
  (void)q.consumers();
}

TEST(ByteQueue, CorruptedIndicesAreReportedNeverAWildAccess) {
  std::uint64_t x = 12345;
  const std::array<std::uint64_t, 6> specials{
      0, 1, 3, 7, ~std::uint64_t{0}, std::uint64_t{1} << 63};
  for (int trial = 0; trial < test::scaled_queue(60); ++trial) {
    const ScopedName name("q-corrupt");
    auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 24});
    std::string got;
    for (int i = 0; i < trial % 5; ++i)
      ASSERT_EQ(q.try_push(as_span(std::string("ab"))), QueueStatus::ok);
    for (int i = 0; i < trial % 3; ++i) (void)q.try_pop(got);
    const Segment raw = Segment::open(name, any_kind());
    detail::QueueHead& h = queue_head(raw);
    auto garbage = [&] {
      x = test::mix(x);
      return (x & 1) != 0 ? specials[x % specials.size()] : x >> (x % 64);
    };
    switch (trial % 5) {
      case 0: h.tail.store(garbage()); break;
      case 1: h.head.store(garbage()); break;
      case 2: test::queue_slot(raw, garbage() % 4).seq.store(garbage()); break;
      case 3:
        test::queue_slot(raw, garbage() % 4).length.store(static_cast<std::uint32_t>(garbage()));
        break;
      default:
        h.head.store(garbage());
        h.tail.store(garbage());
        test::queue_slot(raw, garbage() % 4).seq.store(garbage());
        h.producer_lease.store(static_cast<std::uint32_t>(garbage()));
        h.consumer_lease.store(static_cast<std::uint32_t>(garbage()));
        break;
    }
    exercise(q);
  }
}

// An index further from the slots than a queue in use can be is corrupt, and
// said so: not a queue that says full or empty for good, nor one that takes
// pushes nobody will pop.
TEST(ByteQueue, AnIndexPastWhatItsSlotsSayIsCorruptNotFullOrEmptyForGood) {
  const ScopedName name("q-corrupt-index");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 8});
  ASSERT_EQ(q.try_push(as_span(std::string("a"))), QueueStatus::ok);
  ASSERT_EQ(q.try_push(as_span(std::string("b"))), QueueStatus::ok);
  const Segment raw = Segment::open(name, any_kind());
  detail::QueueHead& h = queue_head(raw);
  // The tail far ahead: every slot's sequence is more than a ring behind it.
  h.tail.store(1'000'000);
  EXPECT_EQ(test::thrown_by([&] { (void)q.try_push(as_span(std::string("c"))); }).code,
            test::code_of(Errc::corrupt));
  EXPECT_EQ(test::thrown_by([&] { (void)q.push_for(as_span(std::string("c")), 1s); }).code,
            test::code_of(Errc::corrupt));
  h.tail.store(2);
  // The head past the tail: no slot there is ready, and none ever will be
  // before the producers get there; a consumer about to wait says so.
  h.head.store(50);
  std::string got;
  EXPECT_EQ(test::thrown_by([&] { (void)q.pop_for(got, 1s); }).code, test::code_of(Errc::corrupt));
  EXPECT_EQ(h.consumers_waiting.load(), 0u);
  h.head.store(0);
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);  // put right, it works again
  EXPECT_EQ(got, "a");
  ASSERT_EQ(q.try_push(as_span(std::string("c"))), QueueStatus::ok);
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "b");
}

TEST(ByteQueue, OversizedLengthIsCorruptAndTheSlotIsSkipped) {
  const ScopedName name("q-corrupt-len");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 24});
  ASSERT_EQ(q.try_push(as_span(std::string("bad"))), QueueStatus::ok);
  ASSERT_EQ(q.try_push(as_span(std::string("good"))), QueueStatus::ok);
  const Segment raw = Segment::open(name, any_kind());
  test::queue_slot(raw, 0).length.store(25);
  std::string got;
  EXPECT_EQ(test::thrown_by([&] { (void)q.try_pop(got); }).code, test::code_of(Errc::corrupt));
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(got, "good");
}

// Pops into a buffer of the caller's treat the slots that are not messages as
// the other pops do: a given-up reservation's is skipped, one with a
// corrupted length is Errc::corrupt and then skipped. Every form of the pop.
TEST(ByteQueue, PopsIntoABufferSkipGivenUpSlotsAndReportCorruptLengthsInEveryForm) {
  const ScopedName name("q-into-skips");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 24});
  const Segment raw = Segment::open(name, any_kind());
  std::array<std::byte, 24> buffer{};
  std::size_t length = 0;
  const auto text = [&] {
    return std::string(reinterpret_cast<const char*>(buffer.data()), length);  // NOLINT
  };
  const std::span<std::byte> out(buffer);
  for (const auto& pop : std::initializer_list<std::function<QueueStatus()>>{
           [&] { return q.try_pop(out, length); }, [&] { return q.pop(out, length); },
           [&] { return q.pop_for(out, length, 10ms); },
           [&] { return q.pop_until(out, length, Clock::now() + 10ms); }}) {
    ASSERT_EQ(q.try_push(as_span(std::string("one"))), QueueStatus::ok);
    {
      ByteQueue::Reservation given_up;
      ASSERT_EQ(q.try_reserve(given_up), QueueStatus::ok);
    }
    ASSERT_EQ(q.try_push(as_span(std::string("two"))), QueueStatus::ok);
    ASSERT_EQ(q.try_push(as_span(std::string("bad"))), QueueStatus::ok);
    ASSERT_EQ(q.try_push(as_span(std::string("three"))), QueueStatus::ok);
    ASSERT_EQ(pop(), QueueStatus::ok);
    EXPECT_EQ(text(), "one");
    ASSERT_EQ(pop(), QueueStatus::ok);  // the given-up slot skipped
    EXPECT_EQ(text(), "two");
    test::queue_slot(raw, test::queue_head(raw).head.load() % 8).length.store(25);
    EXPECT_EQ(test::thrown_by([&] { (void)pop(); }).code, test::code_of(Errc::corrupt));
    ASSERT_EQ(pop(), QueueStatus::ok);
    EXPECT_EQ(text(), "three");
    EXPECT_EQ(q.depth(), 0u);
  }
}

// A batch that meets a corrupted length skips that slot, still delivers the
// rest of what it took, and then reports it: nothing good is lost.
TEST(ByteQueue, ACorruptedLengthInABatchIsSkippedAndTheRestDelivered) {
  const ScopedName name("q-corrupt-batch");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 24});
  for (const char* m : {"a", "bad", "c", "d"})
    ASSERT_EQ(q.try_push(as_span(std::string(m))), QueueStatus::ok);
  const Segment raw = Segment::open(name, any_kind());
  test::queue_slot(raw, 1).length.store(25);
  std::vector<std::string> seen;
  const test::Thrown t = test::thrown_by([&] {
    (void)q.try_pop_batch(8, [&](std::span<const std::byte> m) { seen.push_back(text_of(m)); });
  });
  EXPECT_EQ(t.code, test::code_of(Errc::corrupt)) << t.message;
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "c", "d"}));
  std::string got;
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
}

// The same for Queue<T>: a message of the wrong size (pushed through
// bytes_queue()) is dropped, and the values around it reach `out`.
TEST(Queue, AWrongSizedMessageInABatchIsDroppedAndTheRestKept) {
  const ScopedName name("q-wrong-size-batch");
  auto q = Queue<std::uint64_t>::create(name, 8);
  ASSERT_EQ(q.push(1), QueueStatus::ok);
  ASSERT_EQ(q.bytes_queue().try_push(as_span(std::string("xyz"))), QueueStatus::ok);
  ASSERT_EQ(q.push(2), QueueStatus::ok);
  ASSERT_EQ(q.push(3), QueueStatus::ok);
  std::vector<std::uint64_t> out{7};
  const test::Thrown t = test::thrown_by([&] { (void)q.try_pop_batch(8, out); });
  EXPECT_EQ(t.code, test::code_of(Errc::corrupt)) << t.message;
  EXPECT_NE(t.message.find("a message of 3 bytes, expected 8"), std::string::npos) << t.message;
  EXPECT_EQ(out, (std::vector<std::uint64_t>{7, 1, 2, 3}));
  EXPECT_EQ(q.depth(), 0u);
}

// One at a time, each pop form drops a wrong-sized message with
// Errc::corrupt and leaves the value it was given as it was.
TEST(Queue, AWrongSizedMessageIsDroppedByEachPopAndTheValueKept) {
  const ScopedName name("q-wrong-size-one");
  auto q = Queue<std::uint64_t>::create(name, 8);
  for (const auto& pop : std::initializer_list<std::function<QueueStatus(std::uint64_t&)>>{
           [&](std::uint64_t& v) { return q.try_pop(v); },
           [&](std::uint64_t& v) { return q.pop(v); },
           [&](std::uint64_t& v) { return q.pop_for(v, 10ms); },
           [&](std::uint64_t& v) { return q.pop_until(v, Clock::now() + 10ms); }}) {
    ASSERT_EQ(q.bytes_queue().try_push(as_span(std::string("xyz"))), QueueStatus::ok);
    ASSERT_EQ(q.push(5), QueueStatus::ok);
    std::uint64_t v = 7;
    const test::Thrown t = test::thrown_by([&] { (void)pop(v); });
    EXPECT_EQ(t.code, test::code_of(Errc::corrupt)) << t.message;
    EXPECT_NE(t.message.find("a message of 3 bytes, expected 8"), std::string::npos) << t.message;
    EXPECT_EQ(v, 7u);
    ASSERT_EQ(pop(v), QueueStatus::ok);
    EXPECT_EQ(v, 5u);
    EXPECT_EQ(q.depth(), 0u);
  }
}

TEST(ByteQueue, CorruptedImmutableHeadIsRejectedAtOpen) {
  const ScopedName name("q-corrupt-head");
  { auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 24}); }
  const Segment raw = Segment::open(name, any_kind());
  queue_head(raw).slot_count = 1u << 20;
  EXPECT_EQ(test::thrown_by([&] { (void)ByteQueue::open(name); }).code,
            test::code_of(Errc::corrupt));
  queue_head(raw).slot_count = 3;
  EXPECT_EQ(test::thrown_by([&] { (void)ByteQueue::open(name); }).code,
            test::code_of(Errc::corrupt));
  queue_head(raw).slot_count = 4;
  queue_head(raw).max_message = 1000;
  EXPECT_EQ(test::thrown_by([&] { (void)ByteQueue::open(name); }).code,
            test::code_of(Errc::corrupt));
}

// ------------------------------------------------------------- MPMC threads

// 4 producers x 4 consumers on threads; `own_handles`: each thread opens its
// own handle (several mappings), else all share one.
void thread_stress(bool own_handles) {
  const ScopedName name("q-mt");
  const int per_producer = test::scaled_queue(20'000);
  auto shared = ByteQueue::create(name, {.capacity = 64, .max_message = test::kStressMax});
  std::array<std::vector<std::uint64_t>, test::kStressConsumers> received;
  std::array<std::string, test::kStressConsumers + test::kStressProducers> errors;
  std::vector<std::thread> threads;
  for (int c = 0; c < test::kStressConsumers; ++c) {
    threads.emplace_back([&, c] {
      std::optional<ByteQueue> own;
      if (own_handles) own.emplace(ByteQueue::open(name));
      ByteQueue& q = own ? *own : shared;
      errors[static_cast<std::size_t>(c)] = test::consume_all(
          q, [&](std::uint64_t tag) { received[static_cast<std::size_t>(c)].push_back(tag); });
    });
  }
  for (int p = 0; p < test::kStressProducers; ++p) {
    threads.emplace_back([&, p] {
      std::optional<ByteQueue> own;
      if (own_handles) own.emplace(ByteQueue::open(name));
      ByteQueue& q = own ? *own : shared;
      errors[static_cast<std::size_t>(test::kStressConsumers + p)] =
          test::produce(q, static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(per_producer));
    });
  }
  for (int p = 0; p < test::kStressProducers; ++p)
    threads[static_cast<std::size_t>(test::kStressConsumers + p)].join();
  shared.close();
  for (int c = 0; c < test::kStressConsumers; ++c) threads[static_cast<std::size_t>(c)].join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  std::vector<std::span<const std::uint64_t>> views(received.begin(), received.end());
  EXPECT_EQ(
      test::check_delivery(views, test::kStressProducers, static_cast<std::uint32_t>(per_producer)),
      "");
}

TEST(ByteQueue, ThreadsSharingOneHandleDeliverEachMessageOnceInProducerOrder) {
  thread_stress(false);
}

TEST(ByteQueue, ThreadsWithTheirOwnHandlesDeliverEachMessageOnceInProducerOrder) {
  thread_stress(true);
}

TEST(ByteQueue, ThreadsUseBatchesAndZeroCopyWithoutLosingMessages) {
  const ScopedName name("q-mt-batch");
  const std::uint32_t n = static_cast<std::uint32_t>(test::scaled_queue(20'000));
  auto q = ByteQueue::create(name, {.capacity = 32, .max_message = 16});
  std::atomic<std::uint64_t> sum{0};
  std::atomic<std::uint64_t> count{0};
  test::run_threads(4, [&](int t) {
    if (t < 2) {  // producers: batches of 4, and reservations
      std::uint32_t v = static_cast<std::uint32_t>(t);
      while (v < 2 * n) {
        if (v % 3 == 0) {
          ByteQueue::Reservation r;
          ASSERT_EQ(q.reserve_until(r, detail::deadline_after(test::kGenerous)), QueueStatus::ok);
          std::memcpy(r.data().data(), &v, sizeof v);
          r.commit(sizeof v);
          v += 2;
          continue;
        }
        std::array<std::uint32_t, 4> vals{};
        std::array<std::span<const std::byte>, 4> spans;
        std::size_t k = 0;
        for (; k < 4 && v < 2 * n && (k == 0 || v % 3 != 0); ++k, v += 2) {
          vals[k] = v;
          spans[k] = std::as_bytes(std::span(&vals[k], 1));
        }
        std::size_t done = 0;
        while (done < k) {
          const std::size_t got = q.try_push_batch(std::span(spans).subspan(done, k - done));
          if (got == 0) std::this_thread::yield();
          done += got;
        }
      }
    } else {  // consumers: batches and in-place reads
      const auto deadline = std::chrono::steady_clock::now() + 60s;
      while (count.load() < 2 * n && std::chrono::steady_clock::now() < deadline) {
        auto add = [&](std::span<const std::byte> m) {
          std::uint32_t v = 0;
          ASSERT_EQ(m.size(), sizeof v);
          std::memcpy(&v, m.data(), sizeof v);
          sum += v;
          ++count;
        };
        if (t == 2) {
          if (q.try_pop_batch(5, add) == 0) std::this_thread::yield();
        } else {
          ByteQueue::Message m;
          if (q.read_until(m, detail::deadline_after(5ms)) == QueueStatus::ok) add(m.data());
        }
      }
    }
  });
  const std::uint64_t total = 2 * std::uint64_t{n};
  EXPECT_EQ(count.load(), total);
  EXPECT_EQ(sum.load(), total * (total - 1) / 2);
}

}  // namespace
}  // namespace shmkit
