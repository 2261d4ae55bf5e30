// Crash robustness of Pipe: an end whose process is SIGKILLed at a random
// moment (a bounded loop of trials on one pipe) is taken over by the next
// process that opens the pipe, and nothing is lost or repeated beyond what
// pipe.hpp states. A killed sender: every message it had committed arrives
// once, in order, before the new holder's. A killed receiver: the new holder
// gets every message the old one had not released; the one it was reading
// when it died may come again.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../list/list_test_util.hpp"
#include "queue_test_util.hpp"
#include "shmkit/detail/pipe_layout.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/shared_memory.hpp"

namespace shmkit {
namespace {

using test::check_in_child;
using test::ScopedName;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

constexpr std::uint32_t kMax = 64;
const int kTrials = test::scaled_queue(100) < 100 ? 20 : 100;
// Entries of the receivers' log: more than kTrials * (40 + 3 + capacity).
constexpr std::size_t kLog = std::size_t{1} << 14;

// A word of a raw shared area, read and written across processes.
std::atomic_ref<std::uint64_t> word(std::uint64_t* words, std::size_t i) {
  return std::atomic_ref<std::uint64_t>(words[i]);
}

// How a killed sender of the trials below sends.
enum class Sends {
  one_by_one,  // send, and every third in place (try_reserve/commit) when there is room
  batches,     // try_send_batch of up to kBatch, send when it sent none
};
constexpr std::uint32_t kBatch = 5;

// Each trial's sender takes end 1 (free, or its dead holder's) and sends
// stress messages (trial, 0, 1, ...) until killed, as `sends` says; after
// each send it stores how many it has sent. The parent, end 0, receives a
// random number of them, kills it, then drains: recv returns what the dead
// sender committed, then closed.
void killed_senders_trials(const std::string& label, Sends sends) {
  const ScopedName name("pc-sender-" + label);
  const ScopedName sent_name("pc-sender-count-" + label);
  auto sent = SharedMemory::create(sent_name, sizeof(std::uint64_t));
  auto* words = reinterpret_cast<std::uint64_t*>(sent.data());  // NOLINT: raw count area
  auto a = Pipe::create(name, {.capacity = 8, .max_message = kMax});
  std::mt19937 rng(4242);
  std::int64_t delivered = 0;  // the senders did run
  for (int trial = 0; trial < kTrials; ++trial) {
    word(words, 0).store(0);
    const auto id = static_cast<std::uint32_t>(trial);
    test::Pipe started;
    const pid_t sender = test::fork_child([&] {
      auto b = Pipe::open(name);
      check_in_child(b.end() == 1, "took end 0");
      started.send();
      for (std::uint32_t s = 0;;) {  // until killed
        std::vector<std::vector<std::byte>> run;
        std::vector<std::span<const std::byte>> spans;
        run.reserve(kBatch);
        const std::uint32_t count = sends == Sends::batches ? 1 + s % kBatch : 1;
        for (std::uint32_t k = 0; k < count; ++k) {
          run.push_back(test::stress_message(id, s + k, kMax));
          spans.emplace_back(run.back());
        }
        std::size_t done = sends == Sends::batches ? b.try_send_batch(spans) : 0;
        const std::span<std::byte> room =
            sends == Sends::one_by_one && s % 3 == 1 ? b.try_reserve() : std::span<std::byte>();
        if (!room.empty()) {
          std::memcpy(room.data(), spans[0].data(), spans[0].size());
          b.commit(spans[0].size());
          done = 1;
        } else if (done == 0) {
          if (b.send(spans[0]) != QueueStatus::ok) return;
          done = 1;
        }
        s += static_cast<std::uint32_t>(done);
        word(words, 0).store(s, std::memory_order_release);
      }
    });
    ASSERT_TRUE(started.receive(test::kGenerousMs));
    std::int64_t next = 0;  // the seq expected next from this trial's sender
    std::string got;
    auto take = [&]() -> testing::AssertionResult {
      const std::uint64_t tag = test::check_stress_message(std::as_bytes(std::span(got)), kMax);
      if (tag != test::tag_of(id, static_cast<std::uint32_t>(next))) {
        return testing::AssertionFailure()
               << "got " << (tag >> 32) << "/" << static_cast<std::uint32_t>(tag) << ", expected "
               << id << "/" << next << " (~0 is torn)";
      }
      ++next;
      return testing::AssertionSuccess();
    };
    const auto kill_after = static_cast<std::int64_t>(rng() % 40);
    while (next < kill_after) {
      ASSERT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::ok) << "trial " << trial;
      ASSERT_TRUE(take()) << "trial " << trial;
    }
    ASSERT_EQ(::kill(sender, SIGKILL), 0);
    ASSERT_EQ(test::wait_exit_code(sender), test::kKilled);
    QueueStatus st{};
    while ((st = a.recv_for(got, test::kGenerous)) == QueueStatus::ok) {
      ASSERT_TRUE(take()) << "trial " << trial << ", after the kill";
    }
    ASSERT_EQ(st, QueueStatus::closed) << "trial " << trial;
    // It may have died after a commit (of a batch: up to kBatch), before
    // counting it.
    const auto counted = static_cast<std::int64_t>(word(words, 0).load(std::memory_order_acquire));
    EXPECT_GE(next, counted) << "trial " << trial << ": a committed message was lost";
    EXPECT_LE(next, counted + (sends == Sends::batches ? kBatch : 1)) << "trial " << trial;
    delivered += next;
  }
  EXPECT_GT(delivered, 0);
  // Both directions still work with a new holder of end 1.
  const pid_t last = test::fork_child([&] {
    auto b = Pipe::open(name);
    std::string m;
    check_in_child(b.recv_for(m, test::kGenerous) == QueueStatus::ok && m == "ping", "recv");
    m = "pong";
    check_in_child(b.send(std::as_bytes(std::span(m))) == QueueStatus::ok, "send");
  });
  const std::string ping = "ping";
  ASSERT_EQ(a.send_for(std::as_bytes(std::span(ping)), test::kGenerous), QueueStatus::ok);
  std::string got;
  ASSERT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::ok);
  EXPECT_EQ(got, "pong");
  EXPECT_EQ(test::wait_exit_code(last), 0);
}

TEST(PipeCrash, KilledSendersEndIsTakenOverAndWhatItCommittedComesOnceInOrder) {
  killed_senders_trials("one", Sends::one_by_one);
}

// The same with batches: a sender killed inside try_send_batch committed a
// prefix of the batch, and a new holder goes on after that prefix.
TEST(PipeCrash, KilledBatchSendersEndIsTakenOverAndWhatItCommittedComesOnceInOrder) {
  killed_senders_trials("batch", Sends::batches);
}

// The window the random kills above rarely hit: a sender that died after
// committing a message but before storing its position (SpscControl::tail,
// so it lags by one). The new holder must not write over that message.
TEST(PipeCrash, TakeoverKeepsTheMessageItsDeadSenderCommittedButDidNotCount) {
  const ScopedName name("pc-lag");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  const pid_t old_holder = test::pipe_end_holder(name, {"old-1", "old-2"});
  ASSERT_GT(old_holder, 0);
  ASSERT_EQ(::kill(old_holder, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(old_holder), test::kKilled);
  auto* h = reinterpret_cast<detail::PipeHead*>(a.segment().data().data());  // NOLINT: layout
  ASSERT_EQ(h->control[1].tail.load(), 2u);
  h->control[1].tail.store(1);  // as if it died before counting "old-2"
  const pid_t new_holder = test::fork_child([&] {
    auto b = Pipe::open(name);
    const std::string m = "new";
    check_in_child(b.send(std::as_bytes(std::span(m))) == QueueStatus::ok, "send");
  });
  ASSERT_EQ(test::wait_exit_code(new_holder), 0);
  std::string got;
  for (const std::string expected : {"old-1", "old-2", "new"}) {
    ASSERT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::ok);
    EXPECT_EQ(got, expected);
  }
}

// How a killed receiver of the trials below receives.
enum class Receives {
  one_by_one,  // try_peek, log, release
  batches,     // try_recv_batch of up to kBatch, logging each message it visits
};

// The parent, end 0, sends stress messages (0, 0, 1, ...) throughout. Each
// trial's receiver takes end 1 and reads in place, as `receives` says,
// logging each message's seq in shared memory before it frees the slot.
// The parent kills it once it has logged a random number more. At the end
// the last receiver drains to closed. The log must hold every seq in
// order; where a receiver was killed after logging and before freeing,
// the messages it had not freed come again: one (one by one), or up to a
// batch (batches).
void killed_receivers_trials(const std::string& label, Receives receives) {
  const ScopedName name("pc-receiver-" + label);
  const ScopedName log_name("pc-receiver-log-" + label);
  auto log = SharedMemory::create(log_name, (kLog + 1) * sizeof(std::uint64_t));
  auto* words = reinterpret_cast<std::uint64_t*>(log.data());  // NOLINT: raw log area
  auto a = Pipe::create(name, {.capacity = 8, .max_message = kMax});
  std::mt19937 rng(2424);
  std::uint32_t seq = 0;
  // The new receiver's pid, or -1 if it did not start (the caller asserts).
  auto start_receiver = [&]() -> pid_t {
    test::Pipe started;
    const pid_t pid = test::fork_child([&] {
      auto b = Pipe::open(name);
      check_in_child(b.end() == 1, "took end 0");
      started.send();
      auto log_message = [&](std::span<const std::byte> m) {
        const std::uint64_t n = word(words, 0).load(std::memory_order_relaxed);
        check_in_child(n < kLog, "log full");
        words[1 + n] = test::check_stress_message(m, kMax);
        word(words, 0).store(n + 1, std::memory_order_release);
      };
      while (b.poll(test::kGenerous)) {
        if (receives == Receives::batches) {
          if (b.try_recv_batch(kBatch, log_message) == 0) return;  // closed and drained
          continue;
        }
        const std::optional<std::span<const std::byte>> m = b.try_peek();
        if (!m) return;  // closed and drained
        log_message(*m);
        b.release();
      }
      check_in_child(false, "no message and no close within the bound");
    });
    return started.receive(test::kGenerousMs) ? pid : -1;
  };
  auto send_next = [&] {
    const auto m = test::stress_message(0, seq, kMax);
    const QueueStatus st = a.send_for(std::span<const std::byte>(m), test::kGenerous);
    if (st == QueueStatus::ok) ++seq;
    return st;
  };
  for (int trial = 0; trial < kTrials; ++trial) {
    const pid_t receiver = start_receiver();
    ASSERT_GT(receiver, 0) << "trial " << trial << ": the receiver did not start";
    const std::uint64_t target = word(words, 0).load() + rng() % 40;
    // Send until it has logged `target`, then a few more it may be reading.
    while (word(words, 0).load(std::memory_order_acquire) < target) {
      ASSERT_EQ(send_next(), QueueStatus::ok) << "trial " << trial;
    }
    for (std::uint32_t extra = rng() % 4; extra > 0; --extra) {
      ASSERT_EQ(send_next(), QueueStatus::ok) << "trial " << trial;
    }
    ASSERT_EQ(::kill(receiver, SIGKILL), 0);
    ASSERT_EQ(test::wait_exit_code(receiver), test::kKilled);
  }
  const pid_t last = start_receiver();
  ASSERT_GT(last, 0) << "the last receiver did not start";
  for (int i = 0; i < 20; ++i) ASSERT_EQ(send_next(), QueueStatus::ok);
  a.close();
  ASSERT_EQ(test::wait_exit_code(last), 0);

  const std::uint64_t logged = word(words, 0).load(std::memory_order_acquire);
  // Messages a killed receiver had logged and not freed come again, from
  // where it had freed up to: at most `again` of them, in order.
  const std::uint32_t again = receives == Receives::batches ? kBatch : 1;
  std::uint32_t expected = 0;  // the next seq never logged before
  std::uint32_t replay = 0;    // the next seq of a stretch logged again
  int repeats = 0;
  for (std::uint64_t i = 0; i < logged; ++i) {
    const std::uint64_t tag = words[1 + i];
    ASSERT_EQ(tag >> 32, 0u) << "entry " << i << ": a torn or unknown message";
    const auto s = static_cast<std::uint32_t>(tag);
    if (s < expected) {  // delivered again after its receiver died
      ASSERT_TRUE(s == replay || (s + again >= expected && s < replay))
          << "entry " << i << ": " << s << " again, out of order or from too far back";
      replay = s + 1;
      ++repeats;
      continue;
    }
    ASSERT_EQ(s, expected) << "entry " << i << ": out of order or lost";
    replay = ++expected;
  }
  EXPECT_EQ(expected, seq) << "messages never logged";
  EXPECT_LE(repeats, kTrials * static_cast<int>(again));
}

TEST(PipeCrash, KilledReceiversEndIsTakenOverAndLosesNothing) {
  killed_receivers_trials("one", Receives::one_by_one);
}

// The same with batches: the messages of the batch a receiver was killed
// in, freed only at the batch's end, go to the next receiver again.
TEST(PipeCrash, KilledBatchReceiversEndIsTakenOverAndLosesNothing) {
  killed_receivers_trials("batch", Receives::batches);
}

// An end's holder killed asleep leaves its waiting flag up: the receiver's
// (killed in recv) makes every send of its peer a wake-up call, the sender's
// (killed in send on a full ring) every release. The end's next holder
// lowers it when it takes the end: from then on its peer's sends (releases)
// bump no futex word.
void expect_flag_lowered_by_next_holder(bool receiver_dies) {
  const ScopedName name(receiver_dies ? "pc-asleep-receiver" : "pc-asleep-sender");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  const std::string m = "m";
  const pid_t victim = test::fork_child([&] {
    auto b = Pipe::open(name);
    std::string got;
    if (receiver_dies) (void)b.recv(got);                // sleeps until killed
    for (;;) (void)b.send(std::as_bytes(std::span(m)));  // fills ring 1, then sleeps
  });
  auto* h = reinterpret_cast<detail::PipeHead*>(a.segment().data().data());  // NOLINT: layout
  // Ring 0 carries end 0 -> end 1, ring 1 end 1 -> end 0.
  detail::SpscControl& ring = h->control[receiver_dies ? 0 : 1];
  std::atomic<std::uint32_t>& flag = receiver_dies ? ring.consumer_waiting : ring.producer_waiting;
  std::atomic<std::uint32_t>& word = receiver_dies ? ring.data_seq : ring.space_seq;
  ASSERT_TRUE(test::eventually([&] { return flag.load() != 0; }));
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(victim), test::kKilled);
  ASSERT_NE(flag.load(), 0u);  // left up
  auto b = Pipe::open(name);   // takes the dead end 1
  ASSERT_EQ(b.end(), 1);
  EXPECT_EQ(flag.load(), 0u);
  const std::uint32_t before = word.load();
  std::string got;
  for (int i = 0; i < 100; ++i) {
    if (receiver_dies) {
      ASSERT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::ok);
      ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
    } else {
      ASSERT_EQ(a.try_recv(got), QueueStatus::ok);
      ASSERT_EQ(b.try_send(std::as_bytes(std::span(m))), QueueStatus::ok);
    }
  }
  EXPECT_EQ(word.load(), before);
}

TEST(PipeCrash, AReceiverKilledAsleepCostsTheNextHolderNoWakeUps) {
  expect_flag_lowered_by_next_holder(/*receiver_dies=*/true);
}

TEST(PipeCrash, ASenderKilledAsleepCostsTheNextHolderNoWakeUps) {
  expect_flag_lowered_by_next_holder(/*receiver_dies=*/false);
}

}  // namespace
}  // namespace shmkit
