// The lease of a queue role (detail/queue_layout.hpp): a thread alone in its
// role holds it, a second thread of the role revokes it and neither loses or
// reorders a message, a revoker waits for the holder's claim under way,
// leaving gives it back, a process that cannot fence never takes it, and a
// lease holder racing with close() loses nothing. Killed
// holders: queue_crash_test.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "queue_test_util.hpp"
#include "shmkit/platform/remote_fence.hpp"
#include "shmkit/queue.hpp"

namespace shmkit {
namespace {

using test::check_in_child;
using test::queue_head;
using test::ScopedName;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

std::span<const std::byte> as_span(const std::vector<std::byte>& m) { return m; }

// Leases need membarrier: where it is refused, nobody holds one, which the
// NoLeaseWithoutFences test checks; the others have nothing to look at.
#define SHMKIT_SKIP_WITHOUT_FENCES() \
  if (!platform::light_fences()) GTEST_SKIP() << "membarrier refused here"

TEST(QueueLease, ALoneProducerAndConsumerHoldTheirLeasesUntilTheyLeave) {
  SHMKIT_SKIP_WITHOUT_FENCES();
  const ScopedName name("ql-alone");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 32});
  const detail::QueueHead& h = queue_head(q.segment());
  EXPECT_EQ(h.producer_lease.load(), 0u);
  ASSERT_EQ(q.try_push(as_span(test::stress_message(0, 0, 32))), QueueStatus::ok);
  EXPECT_EQ(h.producer_lease.load(), 1u);  // record 0, the first producer's
  EXPECT_EQ(h.consumer_lease.load(), 0u);
  std::vector<std::byte> got;
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(test::check_stress_message(got, 32), test::tag_of(0, 0));
  EXPECT_EQ(h.consumer_lease.load(), 1u);
  // A handle's end is this thread leaving the queue: it gives both back.
  SegmentOptions as_queue;
  as_queue.kind = Kind::queue;
  const Segment keep = Segment::open(name, as_queue);
  q = ByteQueue::open(name);
  const detail::QueueHead& h2 = queue_head(keep);
  EXPECT_EQ(h2.producer_lease.load(), 0u);
  EXPECT_EQ(h2.consumer_lease.load(), 0u);
}

TEST(QueueLease, ASecondProducerRevokesItAndBothKeepTheirOrder) {
  SHMKIT_SKIP_WITHOUT_FENCES();
  const ScopedName name("ql-revoke");
  const auto per_producer = static_cast<std::uint32_t>(test::scaled_queue(20'000));
  auto q = ByteQueue::create(name, {.capacity = 16, .max_message = test::kStressMax});
  const detail::QueueHead& h = queue_head(q.segment());
  std::vector<std::uint64_t> received;
  std::string errors[3];
  std::thread consumer(
      [&] { errors[2] = test::consume_all(q, [&](std::uint64_t t) { received.push_back(t); }); });
  // Producer 0 streams half its messages alone (it holds the lease), then
  // the rest while producer 1 joins (revoking a lease in use) and streams.
  // Producer 0 stays alive until producer 1 is done: else producer 1 may
  // find itself alone and take the lease in turn.
  std::atomic<bool> halfway{false};
  std::atomic<bool> second_done{false};
  std::uint32_t lease_alone = 0;
  std::thread first([&] {
    errors[0] = test::produce(q, 0, per_producer / 2);
    lease_alone = h.producer_lease.load();
    halfway = true;
    halfway.notify_one();
    errors[0] += test::produce(q, 0, per_producer, per_producer / 2);
    second_done.wait(false);
  });
  std::thread second([&] {
    halfway.wait(false);
    errors[1] = test::produce(q, 1, per_producer);
    second_done = true;
    second_done.notify_one();
  });
  first.join();
  second.join();
  EXPECT_NE(lease_alone, 0u);
  EXPECT_EQ(h.producer_lease.load(), 0u);  // revoked, and neither was alone since
  q.close();
  consumer.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(test::check_delivery({received}, 2, per_producer), "");
}

TEST(QueueLease, ASecondConsumerRevokesItAndEachMessageComesOnce) {
  SHMKIT_SKIP_WITHOUT_FENCES();
  const ScopedName name("ql-consumers");
  const auto per_producer = static_cast<std::uint32_t>(test::scaled_queue(20'000));
  auto q = ByteQueue::create(name, {.capacity = 16, .max_message = test::kStressMax});
  const detail::QueueHead& h = queue_head(q.segment());
  // Consumer 0 takes the lease with its first message; consumer 1 joins
  // while messages flow.
  std::vector<std::uint64_t> received[2];
  std::string errors[3];
  // Consumer 0 stays alive until consumer 1 is done, as in the test above.
  std::atomic<bool> first_got_one{false};
  std::atomic<bool> second_done{false};
  std::uint32_t lease_alone = 0;
  std::thread producer([&] { errors[2] = test::produce(q, 0, per_producer); });
  std::thread first([&] {
    errors[0] = test::consume_all(q, [&](std::uint64_t t) {
      received[0].push_back(t);
      if (received[0].size() == 1) {
        lease_alone = h.consumer_lease.load();
        first_got_one = true;
        first_got_one.notify_one();
      }
    });
    second_done.wait(false);
  });
  first_got_one.wait(false);
  std::thread second([&] {
    errors[1] = test::consume_all(q, [&](std::uint64_t t) { received[1].push_back(t); });
    second_done = true;
    second_done.notify_one();
  });
  producer.join();
  q.close();
  first.join();
  second.join();
  EXPECT_NE(lease_alone, 0u);
  EXPECT_EQ(h.consumer_lease.load(), 0u);
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(test::check_delivery({received[0], received[1]}, 1, per_producer), "");
}

TEST(QueueLease, ARevokerWaitsUntilTheHoldersClaimUnderWayHasMovedTheIndex) {
  SHMKIT_SKIP_WITHOUT_FENCES();
  const ScopedName name("ql-wait");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 32});
  detail::QueueHead& h = queue_head(q.segment());
  // The holder: one push (it takes the lease), then it stays alive, idle.
  std::atomic<int> stage{0};
  std::thread holder([&] {
    EXPECT_EQ(q.try_push(as_span(test::stress_message(0, 0, 32))), QueueStatus::ok);
    stage = 1;
    stage.notify_all();
    stage.wait(1);
  });
  stage.wait(0);
  ASSERT_EQ(h.producer_lease.load(), 1u);
  // Make it look stopped between recording a claim and storing the tail.
  const std::uint64_t pos = h.tail.load();
  detail::QueueParticipant& record = h.producers[0];
  record.pending_begin.store(pos);
  record.pending_end.store(pos + 1);
  std::atomic<bool> pushed{false};
  std::thread second([&] {
    EXPECT_EQ(q.try_push(as_span(test::stress_message(1, 0, 32))), QueueStatus::ok);
    pushed = true;
  });
  // It must not claim beside the holder: revoking, it waits for the tail.
  // (What is checked is that nothing happens: a bounded look is all there is.)
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(h.producer_lease.load(), 1u | detail::kQueueLeaseRevoking);
  // The holder's tail store lands, and its commit (an abandoned slot).
  h.tail.store(pos + 1);
  second.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(h.producer_lease.load(), 0u);
  EXPECT_EQ(h.tail.load(), pos + 2);  // the second producer claimed after the holder
  detail::QueueSlot& held = test::queue_slot(q.segment(), pos % q.capacity());
  held.length.store(detail::kQueueTombstone);
  held.seq.store(pos + 1);
  record.pending_end.store(pos);
  record.pending_begin.store(pos);
  stage = 2;
  stage.notify_all();
  holder.join();
  std::vector<std::byte> got;
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(test::check_stress_message(got, 32), test::tag_of(0, 0));
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);  // the abandoned slot is skipped
  EXPECT_EQ(test::check_stress_message(got, 32), test::tag_of(1, 0));
  EXPECT_EQ(q.try_pop(got), QueueStatus::empty);
}

TEST(QueueLease, NoLeaseWithoutFences) {
  const ScopedName name("ql-unfenced");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 32});
  // A child that cannot fence (as under a seccomp filter) pushes and pops
  // alone: it takes no lease, and its messages come through all the same.
  const pid_t child = test::fork_child([&] {
    platform::disable_light_fences_for_testing();
    auto mine = ByteQueue::open(name);
    for (std::uint32_t s = 0; s < 20; ++s) {
      check_in_child(mine.try_push(as_span(test::stress_message(0, s, 32))) == QueueStatus::ok,
                     "push");
      std::vector<std::byte> got;
      check_in_child(mine.try_pop(got) == QueueStatus::ok, "pop");
      check_in_child(test::check_stress_message(got, 32) == test::tag_of(0, s), "order");
    }
    const detail::QueueHead& h = queue_head(mine.segment());
    check_in_child(h.producer_lease.load() == 0 && h.consumer_lease.load() == 0, "no lease");
  });
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

TEST(QueueLease, CloseWhileTheHolderStreamsLosesNothing) {
  // The consumer's "closed and drained" must see every slot a lease holder
  // claimed before it saw close(): each accepted push is popped.
  for (int trial = 0; trial < test::scaled_queue(40); ++trial) {
    const ScopedName name("ql-close");
    auto q = ByteQueue::create(name, {.capacity = 8, .max_message = 32});
    std::atomic<std::uint64_t> accepted{0};
    std::thread producer([&] {
      for (std::uint32_t s = 0;; ++s) {
        const QueueStatus st = q.push_for(as_span(test::stress_message(0, s, 32)), test::kGenerous);
        if (st == QueueStatus::closed) return;
        ASSERT_EQ(st, QueueStatus::ok);
        ++accepted;
      }
    });
    std::uint64_t popped = 0;
    std::vector<std::byte> got;
    while (popped < 10 + static_cast<std::uint64_t>(trial) * 3) {
      ASSERT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::ok);
      ASSERT_EQ(test::check_stress_message(got, 32),
                test::tag_of(0, static_cast<std::uint32_t>(popped)));
      ++popped;
    }
    q.close();
    for (;;) {
      const QueueStatus st = q.try_pop(got);
      if (st == QueueStatus::closed) break;
      if (st == QueueStatus::empty) continue;  // a claim under way: it lands or is tombstoned
      ASSERT_EQ(st, QueueStatus::ok);
      ASSERT_EQ(test::check_stress_message(got, 32),
                test::tag_of(0, static_cast<std::uint32_t>(popped)));
      ++popped;
    }
    producer.join();
    EXPECT_EQ(popped, accepted.load()) << "trial " << trial;
  }
}

}  // namespace
}  // namespace shmkit
