// Crash robustness of ByteQueue: a producer or consumer SIGKILLed at a random
// moment (a bounded loop of trials on one queue) never blocks the survivors
// for long, every committed message is delivered exactly once except at most
// those a killed consumer had taken (one, or one batch), the participant records of the
// dead are reused (more dead processes than the 64 records), and a killed
// holder of a role's lease (detail/queue_layout.hpp) is revoked by the next.
#include <signal.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../list/list_test_util.hpp"
#include "queue_test_util.hpp"
#include "shmkit/platform/remote_fence.hpp"
#include "shmkit/queue.hpp"
#include "shmkit/shared_memory.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::check_in_child;
using test::ScopedName;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

constexpr std::uint32_t kMax = 64;
constexpr std::uint32_t kParent = 1000;    // the parent's producer id
constexpr std::uint64_t kVictimBatch = 3;  // the killed consumer's try_pop_batch
const int kTrials = test::scaled_queue(100) < 100 ? 20 : 100;

std::span<const std::byte> span_of(const std::vector<std::byte>& m) { return m; }

// The parent, both producer and consumer: pushes `m` with try_push, popping
// (into `got`) while full; when nothing can be popped either, a blocking push
// (a dead holder is recovered within the check interval). True once pushed.
bool push_while_popping(ByteQueue& q, const std::vector<std::byte>& m,
                        const std::function<void(std::uint64_t)>& got) {
  std::vector<std::byte> buffer;
  for (;;) {
    if (q.try_push(span_of(m)) == QueueStatus::ok) return true;
    const QueueStatus st = q.try_pop(buffer);
    if (st == QueueStatus::ok) {
      got(test::check_stress_message(buffer, kMax));
      continue;
    }
    if (q.push_for(span_of(m), 5ms) == QueueStatus::ok) return true;
    // Still full: a live peer is slow, or our own messages fill it. Pop with a
    // bound (recovers a dead producer's slot at head).
    if (q.pop_for(buffer, 5ms) == QueueStatus::ok) got(test::check_stress_message(buffer, kMax));
  }
}

// Pops until the marker (kParent, marker_seq): everything pushed before it has
// then been taken. False if a pop does not come within the generous bound.
bool drain_through(ByteQueue& q, std::uint32_t marker_seq,
                   const std::function<void(std::uint64_t)>& got) {
  std::vector<std::byte> buffer;
  for (;;) {
    if (q.pop_for(buffer, test::kGenerous) != QueueStatus::ok) return false;
    const std::uint64_t tag = test::check_stress_message(buffer, kMax);
    if (tag == test::tag_of(kParent, marker_seq)) return true;
    got(tag);
  }
}

// A new process can still register as producer and consumer.
void expect_new_participants_fit(const std::string& name) {
  const pid_t child = test::fork_child([&] {
    auto q = ByteQueue::open(name);
    const auto m = test::stress_message(kParent, 0, kMax);
    check_in_child(q.push_for(span_of(m), test::kGenerous) == QueueStatus::ok, "push");
    std::vector<std::byte> b;
    check_in_child(q.pop_for(b, test::kGenerous) == QueueStatus::ok, "pop");
  });
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

// A victim producer: pushes (id, 0), (id, 1) ... until it is killed, every
// 4th through a Reservation.
void push_until_killed(ByteQueue& q, std::uint32_t id) {
  for (std::uint32_t s = 0;; ++s) {
    const auto m = test::stress_message(id, s, kMax);
    if (s % 4 == 1) {
      ByteQueue::Reservation r;
      if (q.reserve_until(r, std::nullopt) != QueueStatus::ok) return;
      std::memcpy(r.data().data(), m.data(), m.size());
      r.commit(m.size());
    } else if (q.push(span_of(m)) != QueueStatus::ok) {
      return;
    }
  }
}

// What a consumer got from two producers: each one's messages must come in
// order with no gap, from next[i] on. `error` names the first that did not.
struct TwoInOrder {
  std::array<std::uint32_t, 2> ids;
  std::array<std::int64_t, 2> next;
  std::string error;

  void operator()(std::uint64_t tag) {
    for (std::size_t i = 0; i < 2 && tag != ~std::uint64_t{0}; ++i) {
      if ((tag >> 32) == ids[i] && static_cast<std::uint32_t>(tag) == next[i]) {
        ++next[i];
        return;
      }
    }
    if (!error.empty()) return;
    error = tag == ~std::uint64_t{0} ? "a torn message"
                                     : "unexpected message " + std::to_string(tag >> 32) + "/" +
                                           std::to_string(static_cast<std::uint32_t>(tag));
  }
};

TEST(ByteQueueCrash, KilledProducersNeverBlockOthersOrLoseCommittedMessages) {
  const ScopedName name("qc-producer");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = kMax});
  std::mt19937 rng(20240601);
  std::uint32_t parent_seq = 0;
  std::int64_t victims_delivered = 0;  // the victims did run
  for (int trial = 0; trial < kTrials; ++trial) {
    const auto victim_id = static_cast<std::uint32_t>(trial);
    test::Pipe started;
    const pid_t victim = test::fork_child([&] {
      started.send();
      push_until_killed(q, victim_id);
    });
    ASSERT_TRUE(started.receive(test::kGenerousMs));
    // Per producer: the sequence numbers the parent got, in order.
    TwoInOrder order{{victim_id, kParent}, {0, static_cast<std::int64_t>(parent_seq)}, ""};
    const std::int64_t& victim_next = order.next[0];
    const std::int64_t& parent_next = order.next[1];
    const std::string& error = order.error;
    auto got = [&](std::uint64_t tag) { order(tag); };
    // Kill once the parent got kill_after of the victim's messages: the
    // victim is then pushing (or blocked on a full queue).
    const auto kill_after = static_cast<std::int64_t>(rng() % 40);
    std::vector<std::byte> buffer;
    while (victim_next < kill_after) {
      ASSERT_TRUE(push_while_popping(q, test::stress_message(kParent, parent_seq++, kMax), got));
      ASSERT_EQ(q.pop_for(buffer, test::kGenerous), QueueStatus::ok) << "trial " << trial;
      got(test::check_stress_message(buffer, kMax));
      ASSERT_EQ(error, "") << "trial " << trial;
    }
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    ASSERT_EQ(test::wait_exit_code(victim), test::kKilled);
    for (std::uint32_t i = 0; i < 10; ++i) {
      ASSERT_TRUE(push_while_popping(q, test::stress_message(kParent, parent_seq++, kMax), got));
    }
    const std::uint32_t marker = parent_seq++;
    ASSERT_TRUE(push_while_popping(q, test::stress_message(kParent, marker, kMax), got));
    ASSERT_TRUE(drain_through(q, marker, got)) << "trial " << trial << ": blocked";
    ASSERT_EQ(error, "") << "trial " << trial;
    // Every parent message came, in order; the victim's came as a gap-free prefix.
    ASSERT_EQ(parent_next, static_cast<std::int64_t>(marker)) << "trial " << trial;
    victims_delivered += victim_next;
    std::vector<std::byte> rest;
    ASSERT_EQ(q.try_pop(rest), QueueStatus::empty) << "trial " << trial;
  }
  EXPECT_GT(victims_delivered, 0);
  EXPECT_LE(q.producers(), 1u);
  expect_new_participants_fit(name.str());
}

// The victim is the only producer (it holds the producer lease and moves the
// tail with plain stores) and is killed mid-stream; a successor producer
// then revokes the dead holder's lease. The parent only consumes: it gets the
// victim's messages as a gap-free prefix and all of the successor's, in order.
TEST(ByteQueueCrash, KilledLeaseHolderIsReplacedAndWhatItCommittedComesOnce) {
  const ScopedName name("qc-lease");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = kMax});
  std::mt19937 rng(4242);
  constexpr std::int64_t kSuccessorMessages = 12;  // > capacity
  int victims_holding_the_lease = 0;
  std::int64_t victims_delivered = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const auto victim_id = static_cast<std::uint32_t>(2 * trial);
    const std::uint32_t successor_id = victim_id + 1;
    test::Pipe started;
    const pid_t victim = test::fork_child([&] {
      started.send();
      push_until_killed(q, victim_id);
    });
    ASSERT_TRUE(started.receive(test::kGenerousMs));
    TwoInOrder take{{victim_id, successor_id}, {0, 0}, ""};
    const std::int64_t& victim_next = take.next[0];
    const std::int64_t& successor_next = take.next[1];
    const std::string& error = take.error;
    std::vector<std::byte> buffer;
    const auto kill_after = static_cast<std::int64_t>(rng() % 40);
    while (victim_next < kill_after) {
      ASSERT_EQ(q.pop_for(buffer, test::kGenerous), QueueStatus::ok) << "trial " << trial;
      take(test::check_stress_message(buffer, kMax));
      ASSERT_EQ(error, "") << "trial " << trial;
    }
    if (test::queue_head(q.segment()).producer_lease.load() != 0) ++victims_holding_the_lease;
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    ASSERT_EQ(test::wait_exit_code(victim), test::kKilled);
    const pid_t successor = test::fork_child([&] {
      auto mine = ByteQueue::open(name.str());
      for (std::uint32_t s = 0; s < static_cast<std::uint32_t>(kSuccessorMessages); ++s) {
        const auto m = test::stress_message(successor_id, s, kMax);
        check_in_child(mine.push_for(span_of(m), test::kGenerous) == QueueStatus::ok, "push");
      }
    });
    while (successor_next < kSuccessorMessages) {
      ASSERT_EQ(q.pop_for(buffer, test::kGenerous), QueueStatus::ok) << "trial " << trial;
      take(test::check_stress_message(buffer, kMax));
      ASSERT_EQ(error, "") << "trial " << trial;
    }
    ASSERT_EQ(test::wait_exit_code(successor), 0) << "trial " << trial;
    ASSERT_EQ(q.try_pop(buffer), QueueStatus::empty) << "trial " << trial;
    victims_delivered += victim_next;
  }
  EXPECT_GT(victims_delivered, 0);
  if (platform::light_fences()) {
    EXPECT_GT(victims_holding_the_lease, 0);
  }
  EXPECT_EQ(test::queue_head(q.segment()).producer_lease.load(), 0u);  // the last one left
  expect_new_participants_fit(name.str());
}

// The victim pops one by one, reads in place, and pops batches of up to
// kVictimBatch: killed inside a batch, it loses what that batch had claimed.
TEST(ByteQueueCrash, KilledConsumersLoseAtMostTheMessagesTheyHadTaken) {
  const ScopedName name("qc-consumer");
  const ScopedName log_name("qc-consumer-log");
  // The victim's log: a count, then the seqs it got (after each pop).
  constexpr std::size_t kLog = 1 << 16;
  auto log = SharedMemory::create(log_name, (kLog + 1) * sizeof(std::uint64_t));
  auto* words = reinterpret_cast<std::uint64_t*>(log.data());  // NOLINT: raw log area
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = kMax});
  std::mt19937 rng(777);
  std::uint32_t seq = 0;
  std::uint64_t total_gaps = 0;
  std::uint64_t victims_got = 0;  // the victims did run
  int victims_holding_the_lease = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    words[0] = 0;
    const std::uint32_t first = seq;
    test::Pipe started;
    const pid_t victim = test::fork_child([&] {
      started.send();
      std::vector<std::byte> b;
      auto record = [&](std::uint64_t tag) {
        check_in_child(words[0] < kLog, "log full");
        words[1 + words[0]] = tag;
        __atomic_store_n(&words[0], words[0] + 1, __ATOMIC_RELEASE);
      };
      for (std::uint64_t i = 0;; ++i) {  // until killed
        std::uint64_t tag = 0;
        if (i % 3 == 1) {  // none now: the next rounds block
          q.try_pop_batch(kVictimBatch, [&](std::span<const std::byte> m) {
            record(test::check_stress_message(m, kMax));
          });
          continue;
        }
        if (i % 3 == 2) {
          ByteQueue::Message m;
          if (q.read_until(m, std::nullopt) != QueueStatus::ok) return;
          tag = test::check_stress_message(m.data(), kMax);
        } else {
          if (q.pop(b) != QueueStatus::ok) return;
          tag = test::check_stress_message(b, kMax);
        }
        record(tag);
      }
    });
    ASSERT_TRUE(started.receive(test::kGenerousMs));
    std::vector<std::uint32_t> parent_got;
    std::string error;
    auto got = [&](std::uint64_t tag) {
      if (tag == ~std::uint64_t{0} || (tag >> 32) != kParent) {
        error = "a torn or unknown message";
      } else {
        parent_got.push_back(static_cast<std::uint32_t>(tag));
      }
    };
    // Only the victim pops before the kill: past 8 (the capacity) pushes, it
    // has taken some, and it is popping (or asleep on an empty queue).
    const auto kill_after = static_cast<std::uint32_t>(rng() % 40);
    for (std::uint32_t i = 0; i < kill_after; ++i) {
      const auto m = test::stress_message(kParent, seq++, kMax);
      ASSERT_EQ(q.push_for(span_of(m), test::kGenerous), QueueStatus::ok) << "trial " << trial;
    }
    if (test::queue_head(q.segment()).consumer_lease.load() != 0) ++victims_holding_the_lease;
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    ASSERT_EQ(test::wait_exit_code(victim), test::kKilled);
    for (std::uint32_t i = 0; i < 20; ++i) {  // > capacity: wraps past a held slot
      ASSERT_TRUE(push_while_popping(q, test::stress_message(kParent, seq++, kMax), got));
    }
    const std::uint32_t marker = seq++;
    ASSERT_TRUE(push_while_popping(q, test::stress_message(kParent, marker, kMax), got));
    ASSERT_TRUE(drain_through(q, marker, got)) << "trial " << trial << ": blocked";
    ASSERT_EQ(error, "") << "trial " << trial;
    // The parent's in order; the union with the victim's has no duplicates.
    ASSERT_TRUE(std::is_sorted(parent_got.begin(), parent_got.end())) << "trial " << trial;
    std::vector<std::uint8_t> seen(marker - first, 0);
    for (const std::uint32_t s : parent_got) {
      ASSERT_TRUE(s >= first && s < marker) << "trial " << trial;
      ASSERT_EQ(seen[s - first]++, 0) << "trial " << trial << ": " << s << " twice";
    }
    const std::uint64_t logged = __atomic_load_n(&words[0], __ATOMIC_ACQUIRE);
    victims_got += logged;
    for (std::uint64_t i = 0; i < logged; ++i) {
      const std::uint64_t tag = words[1 + i];
      ASSERT_EQ(tag >> 32, kParent) << "trial " << trial << ": the victim got a torn message";
      const auto s = static_cast<std::uint32_t>(tag);
      ASSERT_TRUE(s >= first && s < marker) << "trial " << trial;
      ASSERT_EQ(seen[s - first]++, 0) << "trial " << trial << ": " << s << " twice";
    }
    const auto gaps = static_cast<std::uint64_t>(std::count(seen.begin(), seen.end(), 0));
    ASSERT_LE(gaps, kVictimBatch) << "trial " << trial;
    total_gaps += gaps;
    // A new handle: the parent leaves the roles, so that the next victim is
    // the only consumer and holds the consumer lease when it is killed.
    q = ByteQueue::open(name);
  }
  EXPECT_LE(total_gaps, kTrials * kVictimBatch);
  EXPECT_GT(victims_got, 0u);
  if (platform::light_fences()) {
    EXPECT_GT(victims_holding_the_lease, 0);
  }
  EXPECT_LE(q.consumers(), 1u);
  expect_new_participants_fit(name.str());
}

// A thread killed while asleep in pop (or push) leaves its waiting bit
// behind. The survivors' first hand-over whose wake-up wakes nobody finds it
// dead and drops the bit; from then on a push (a pop) bumps no futex word,
// so it makes no wake-up call, as before the kill. (With a count instead of
// the bits, every later hand-over made one: a stream ran about 6x slower.)
void expect_dead_sleeper_dropped(bool consumer_dies) {
  const ScopedName name(consumer_dies ? "q-dead-consumer-asleep" : "q-dead-producer-asleep");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 8});
  detail::QueueHead& h = test::queue_head(q.segment());
  const std::vector<std::byte> m(8, std::byte{7});
  std::vector<std::byte> got;
  if (!consumer_dies) {
    while (q.try_push(span_of(m)) == QueueStatus::ok) {
    }
  }
  const pid_t victim = test::fork_child([&] {
    auto mine = ByteQueue::open(name);
    std::vector<std::byte> taken;
    (void)(consumer_dies ? mine.pop(taken) : mine.push(span_of(m)));  // sleeps until killed
  });
  std::atomic<std::uint64_t>& bits = consumer_dies ? h.consumers_waiting : h.producers_waiting;
  std::atomic<std::uint32_t>& word = consumer_dies ? h.not_empty : h.not_full;
  ASSERT_TRUE(test::eventually([&] { return bits.load() != 0; }));
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(victim), test::kKilled);
  ASSERT_NE(bits.load(), 0u);  // left behind
  auto hand_over = [&] {
    if (consumer_dies) {
      return q.try_push(span_of(m)) == QueueStatus::ok && q.try_pop(got) == QueueStatus::ok;
    }
    return q.try_pop(got) == QueueStatus::ok && q.try_push(span_of(m)) == QueueStatus::ok;
  };
  // This thread looks at most once per check interval: a few hand-overs may
  // pass before its look.
  ASSERT_TRUE(test::eventually([&] { return hand_over() && bits.load() == 0; }));
  const std::uint32_t before = word.load();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(hand_over());
  EXPECT_EQ(word.load(), before);
}

// A message right behind a killed producer's reservation: one pop_for with a
// zero timeout recovers the dead slot, skips it, and returns the message
// (before, it returned timed_out and only a second call got the message).
TEST(ByteQueueCrash, AZeroTimeoutPopTakesTheMessageBehindADeadProducersSlot) {
  const ScopedName name("q-dead-zero");
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = 16});
  const test::Pipe reserved;
  const pid_t producer = test::fork_child([&] {
    auto mine = ByteQueue::open(name);
    ByteQueue::Reservation r;
    check_in_child(mine.try_reserve(r) == QueueStatus::ok, "reserve");
    reserved.send();
    for (;;) ::pause();
  });
  ASSERT_TRUE(reserved.receive());
  ASSERT_EQ(::kill(producer, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(producer), test::kKilled);
  const std::string after = "after";
  ASSERT_EQ(q.push(std::as_bytes(std::span(after))), QueueStatus::ok);
  std::string got;
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);  // the try form never recovers
  EXPECT_EQ(q.pop_for(got, 0ms), QueueStatus::ok);
  EXPECT_EQ(got, "after");
  EXPECT_EQ(q.pop_for(got, 0ms), QueueStatus::timed_out);
}

// A loan outlives the thread that made it but not its process: a
// Reservation (Message) handed to another thread of a child, its maker
// exited, holds its slot while the child lives and is recovered once the
// child is killed.
void expect_loan_held_until_its_process_dies(bool producer_dies) {
  const ScopedName name(producer_dies ? "q-loan-proc-p" : "q-loan-proc-c");
  auto q = ByteQueue::create(name, {.capacity = 2, .max_message = 16});
  const std::string first = "first";
  const std::string second = "second";
  if (!producer_dies) {
    ASSERT_EQ(q.push(std::as_bytes(std::span(first))), QueueStatus::ok);
    ASSERT_EQ(q.push(std::as_bytes(std::span(second))), QueueStatus::ok);
  }
  const test::Pipe handed_over;
  const pid_t child = test::fork_child([&] {
    auto mine = ByteQueue::open(name);
    ByteQueue::Reservation r;
    ByteQueue::Message m;
    std::thread([&] {
      if (producer_dies) {
        check_in_child(mine.try_reserve(r) == QueueStatus::ok, "reserve");
      } else {
        check_in_child(mine.try_read(m) == QueueStatus::ok, "read");
      }
    }).join();
    handed_over.send();
    for (;;) ::pause();
  });
  test::KillOnExit guard(child);
  ASSERT_TRUE(handed_over.receive());
  std::string got;
  const std::string after = "after";
  if (producer_dies) {
    ASSERT_EQ(q.push(std::as_bytes(std::span(after))), QueueStatus::ok);
    EXPECT_EQ(q.pop_for(got, 50ms), QueueStatus::timed_out);  // held by a live process
  } else {
    EXPECT_EQ(q.push_for(std::as_bytes(std::span(after)), 50ms), QueueStatus::timed_out);
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(child), test::kKilled);
  if (producer_dies) {
    ASSERT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::ok);  // its slot skipped
    EXPECT_EQ(got, after);
  } else {
    ASSERT_EQ(q.push_for(std::as_bytes(std::span(after)), test::kGenerous), QueueStatus::ok);
    for (const std::string& want : {second, after}) {  // "first" was the dead child's
      ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
      EXPECT_EQ(got, want);
    }
  }
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
}

TEST(ByteQueueCrash, AReservationHandedToAnotherThreadIsHeldUntilItsProcessDies) {
  expect_loan_held_until_its_process_dies(/*producer_dies=*/true);
}

TEST(ByteQueueCrash, AMessageHandedToAnotherThreadIsHeldUntilItsProcessDies) {
  expect_loan_held_until_its_process_dies(/*producer_dies=*/false);
}

TEST(ByteQueueCrash, AConsumerKilledAsleepCostsTheProducersNoWakeUps) {
  expect_dead_sleeper_dropped(/*consumer_dies=*/true);
}

TEST(ByteQueueCrash, AProducerKilledAsleepCostsTheConsumersNoWakeUps) {
  expect_dead_sleeper_dropped(/*consumer_dies=*/false);
}

}  // namespace
}  // namespace shmkit
