// Light hand-overs of a queue (detail/queue_layout.hpp): a thread of a light
// process commits (releases) slots with a plain store and no fence, after
// raising light_producers (light_consumers) when it registers; a peer about
// to sleep then calls membarrier. Checked here: who raises which flag, and
// blocking traffic with either side light or not, in every combination,
// through a queue small enough that both sides sleep.
#include <cstdint>
#include <string>
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

TEST(QueueLight, OnlyThreadsOfALightProcessRaiseTheirRolesFlag) {
  const ScopedName name("qlight-flags");
  auto q = ByteQueue::create(name, {.capacity = 8, .max_message = test::kStressMax});
  const detail::QueueHead& h = queue_head(q.segment());
  EXPECT_EQ(h.light_producers.load(), 0u);
  EXPECT_EQ(h.light_consumers.load(), 0u);
  // A process that cannot fence pushes and pops: it raises nothing.
  const pid_t child = test::fork_child([&] {
    platform::disable_light_fences_for_testing();
    auto mine = ByteQueue::open(name);
    check_in_child(mine.try_push(test::stress_message(1, 0)) == QueueStatus::ok, "push");
    std::vector<std::byte> got;
    check_in_child(mine.try_pop(got) == QueueStatus::ok, "pop");
    check_in_child(test::check_stress_message(got) == test::tag_of(1, 0), "message");
  });
  ASSERT_EQ(test::wait_exit_code(child), 0);
  EXPECT_EQ(h.light_producers.load(), 0u);
  EXPECT_EQ(h.light_consumers.load(), 0u);
  // This one can, where the kernel allows membarrier: each role's flag goes
  // up with its first thread.
  const std::uint32_t light = platform::light_fences() ? 1 : 0;
  ASSERT_EQ(q.try_push(test::stress_message(0, 0)), QueueStatus::ok);
  EXPECT_EQ(h.light_producers.load(), light);
  EXPECT_EQ(h.light_consumers.load(), 0u);
  std::vector<std::byte> got;
  ASSERT_EQ(q.try_pop(got), QueueStatus::ok);
  EXPECT_EQ(test::check_stress_message(got), test::tag_of(0, 0));
  EXPECT_EQ(h.light_producers.load(), light);
  EXPECT_EQ(h.light_consumers.load(), light);
}

// A producer and a consumer process, each light or not, in every
// combination: the producer's blocking pushes, reservations and batches
// against the consumer's blocking pops, in-place reads and batches, through
// two slots. Every message arrives once, in order; then `closed`.
TEST(QueueLight, BlockingTrafficWhetherEachSideFencesOrNot) {
  const auto n = static_cast<std::uint32_t>(test::scaled_queue(5'000));
  for (const bool producer_light : {true, false}) {
    for (const bool consumer_light : {true, false}) {
      const ScopedName name(std::string("qlight-") + (producer_light ? "l" : "s") +
                            (consumer_light ? "l" : "s"));
      (void)ByteQueue::create(name, {.capacity = 2, .max_message = test::kStressMax});
      const test::Pipe go;
      auto side = [&](bool light, const std::function<void(ByteQueue&)>& body) {
        return test::fork_child([&, light] {
          if (!light) platform::disable_light_fences_for_testing();
          auto q = ByteQueue::open(name);
          check_in_child(go.receive(test::kGenerousMs), "go");
          body(q);
          if (!light) check_in_child(!platform::light_fences(), "light fences still on");
        });
      };
      const pid_t producer = side(producer_light, [&](ByteQueue& q) {
        const std::string error = test::produce(q, 0, n);
        check_in_child(error.empty(), error);
        q.close();
      });
      const pid_t consumer = side(consumer_light, [&](ByteQueue& q) {
        std::uint32_t next = 0;
        std::string order;
        const std::string error = test::consume_all(q, [&](std::uint64_t tag) {
          if (order.empty() && tag != test::tag_of(0, next)) {
            order =
                "message " + std::to_string(tag) + " where " + std::to_string(next) + " was due";
          }
          ++next;
        });
        check_in_child(error.empty(), error);
        check_in_child(order.empty(), order);
        check_in_child(next == n, "got " + std::to_string(next) + " of " + std::to_string(n));
      });
      go.send(2);
      EXPECT_EQ(test::wait_exit_code(producer), 0) << producer_light << consumer_light;
      EXPECT_EQ(test::wait_exit_code(consumer), 0) << producer_light << consumer_light;
    }
  }
}

}  // namespace
}  // namespace shmkit
