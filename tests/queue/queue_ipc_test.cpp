// ByteQueue across forked processes: 4 producers x 4 consumers, each message
// delivered exactly once, per-producer order kept within each consumer,
// payloads intact; 64 of each role at once, and a 65th refused; and unrelated
// processes rendezvous by name.
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "queue_test_util.hpp"
#include "shmkit/queue.hpp"
#include "shmkit/shared_memory.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::check_in_child;
using test::ScopedName;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

TEST(ByteQueueIpc, FourProducersFourConsumersDeliverEachMessageOnceInOrder) {
  const ScopedName name("qi-mpmc");
  const ScopedName results_name("qi-mpmc-results");
  const auto per_producer = static_cast<std::uint32_t>(test::scaled_queue(50'000));
  const std::size_t total = std::size_t{per_producer} * test::kStressProducers;
  // Per consumer: a count, then up to `total` tags.
  const std::size_t stride = total + 1;
  auto results =
      SharedMemory::create(results_name, test::kStressConsumers * stride * sizeof(std::uint64_t));
  auto* words = reinterpret_cast<std::uint64_t*>(results.data());  // NOLINT: raw result area
  auto q = ByteQueue::create(name, {.capacity = 256, .max_message = test::kStressMax});
  test::Pipe start;
  std::vector<pid_t> consumers;
  std::vector<pid_t> producers;
  for (int c = 0; c < test::kStressConsumers; ++c) {
    consumers.push_back(test::fork_child([&, c] {
      auto mine = ByteQueue::open(name);  // its own mapping
      std::uint64_t* out = words + static_cast<std::size_t>(c) * stride;
      check_in_child(start.receive(), "no start");
      const std::string error = test::consume_all(mine, [&](std::uint64_t tag) {
        check_in_child(out[0] < total, "too many messages");
        out[1 + out[0]++] = tag;
      });
      check_in_child(error.empty(), error);
    }));
  }
  for (int p = 0; p < test::kStressProducers; ++p) {
    producers.push_back(test::fork_child([&, p] {
      auto mine = ByteQueue::open(name);
      check_in_child(start.receive(), "no start");
      const std::string error = test::produce(mine, static_cast<std::uint32_t>(p), per_producer);
      check_in_child(error.empty(), error);
    }));
  }
  start.send(test::kStressConsumers + test::kStressProducers);
  EXPECT_TRUE(test::all_exit_zero(producers));
  q.close();
  EXPECT_TRUE(test::all_exit_zero(consumers));
  std::vector<std::span<const std::uint64_t>> views;
  for (int c = 0; c < test::kStressConsumers; ++c) {
    const std::uint64_t* area = words + static_cast<std::size_t>(c) * stride;
    views.emplace_back(area + 1, static_cast<std::size_t>(area[0]));
  }
  EXPECT_EQ(test::check_delivery(views, test::kStressProducers, per_producer), "");
  EXPECT_EQ(q.depth(), 0u);
}

constexpr int kRole = 64;  // queue.hpp's limit of threads per role

// queue.hpp: up to 64 producer and 64 consumer threads at once, a 65th of a
// role refused with Errc::full. All 128 processes register (a consumer by an
// empty try_pop, a producer by pushing its message 0) and stay alive while
// the test's own thread is refused in both roles; then they stream, and each
// message still arrives exactly once, in order per producer.
TEST(ByteQueueIpc, SixtyFourProducersAndConsumersAtOnceAndTheNextIsRefused) {
  const ScopedName name("qi-64");
  const ScopedName results_name("qi-64-results");
  const auto per_producer = static_cast<std::uint32_t>(test::scaled_queue(200));
  const std::size_t total = std::size_t{per_producer} * kRole;
  const std::size_t stride = total + 1;  // per consumer: a count, then its tags
  auto results = SharedMemory::create(results_name, kRole * stride * sizeof(std::uint64_t));
  auto* words = reinterpret_cast<std::uint64_t*>(results.data());  // NOLINT: raw result area
  // Room for every producer's message 0 while all wait for the go.
  auto q = ByteQueue::create(name, {.capacity = 2 * kRole, .max_message = test::kStressMax});
  test::Pipe registered;
  test::Pipe go;
  std::vector<pid_t> consumers;
  std::vector<pid_t> producers;
  consumers.reserve(kRole);
  producers.reserve(kRole);
  for (int c = 0; c < kRole; ++c) {
    consumers.push_back(test::fork_child([&, c] {
      auto mine = ByteQueue::open(name);
      std::vector<std::byte> none;
      check_in_child(mine.try_pop(none) == QueueStatus::empty, "a message before any producer");
      registered.send();
      check_in_child(go.receive(), "no go");
      std::uint64_t* out = words + static_cast<std::size_t>(c) * stride;
      const std::string error = test::consume_all(mine, [&](std::uint64_t tag) {
        check_in_child(out[0] < total, "too many messages");
        out[1 + out[0]++] = tag;
      });
      check_in_child(error.empty(), error);
    }));
  }
  for (int c = 0; c < kRole; ++c) ASSERT_TRUE(registered.receive()) << "consumer " << c;
  for (int p = 0; p < kRole; ++p) {
    producers.push_back(test::fork_child([&, p] {
      auto mine = ByteQueue::open(name);
      const std::string first = test::produce(mine, static_cast<std::uint32_t>(p), 1);
      check_in_child(first.empty(), first);
      registered.send();
      check_in_child(go.receive(), "no go");
      const std::string error = test::produce(mine, static_cast<std::uint32_t>(p), per_producer, 1);
      check_in_child(error.empty(), error);
    }));
  }
  for (int p = 0; p < kRole; ++p) ASSERT_TRUE(registered.receive()) << "producer " << p;
  ASSERT_EQ(q.depth(), std::uint64_t{kRole});

  const std::vector<std::byte> extra = test::stress_message(kRole, 0);
  const test::Thrown push = test::thrown_by([&] { (void)q.try_push(extra); });
  EXPECT_EQ(push.code, test::code_of(Errc::full));
  EXPECT_NE(push.message.find("64 live producer threads"), std::string::npos) << push.message;
  std::vector<std::byte> taken;
  const test::Thrown pop = test::thrown_by([&] { (void)q.try_pop(taken); });
  EXPECT_EQ(pop.code, test::code_of(Errc::full));
  EXPECT_NE(pop.message.find("64 live consumer threads"), std::string::npos) << pop.message;
  EXPECT_EQ(q.depth(), std::uint64_t{kRole});  // the refused calls wrote and took nothing

  go.send(std::size_t{2} * kRole);
  EXPECT_TRUE(test::all_exit_zero(producers));
  q.close();
  EXPECT_TRUE(test::all_exit_zero(consumers));
  std::vector<std::span<const std::uint64_t>> views;
  for (int c = 0; c < kRole; ++c) {
    const std::uint64_t* area = words + static_cast<std::size_t>(c) * stride;
    views.emplace_back(area + 1, static_cast<std::size_t>(area[0]));
  }
  EXPECT_EQ(test::check_delivery(views, kRole, per_producer), "");
  // The children's records were given back as they exited: this thread now
  // gets one (the queue is closed, so the push reports that).
  EXPECT_EQ(q.try_push(extra), QueueStatus::closed);
  EXPECT_EQ(q.try_pop(taken), QueueStatus::closed);
}

// Messages large enough for the copy that streams past the caches, pushed
// one by one and in batches of two by another process, through a ring they
// wrap around several times: each arrives whole and in order.
TEST(ByteQueueIpc, LargeMessagesArriveWholeFromAnotherProcess) {
  const ScopedName name("qi-large");
  constexpr std::uint32_t kCount = 24;
  auto q = ByteQueue::create(name, {.capacity = 4, .max_message = test::large_message_max()});
  const pid_t child = test::fork_child([&] {
    auto mine = ByteQueue::open(name);
    for (std::uint32_t i = 0; i < kCount; ++i) {
      const std::vector<std::byte> m = test::large_message(i);
      if (i % 3 == 1 && i + 1 < kCount) {
        const std::vector<std::byte> next = test::large_message(i + 1);
        const std::array<std::span<const std::byte>, 2> batch{m, next};
        const std::size_t pushed = mine.try_push_batch(batch);
        for (std::size_t k = pushed; k < batch.size(); ++k) {
          check_in_child(mine.push_for(batch[k], test::kGenerous) == QueueStatus::ok, "push");
        }
        ++i;
        continue;
      }
      check_in_child(
          mine.push_for(std::span<const std::byte>(m), test::kGenerous) == QueueStatus::ok, "push");
    }
  });
  EXPECT_EQ(test::check_large_messages([&](auto& got) { return q.pop_for(got, test::kGenerous); },
                                       kCount),
            "");
  std::vector<std::byte> more;
  EXPECT_EQ(q.try_pop(more), QueueStatus::empty);
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

TEST(ByteQueueIpc, UnrelatedProcessRendezvousesByName) {
  const ScopedName name("qi-name");
  const pid_t child = test::fork_child([&] {
    // Opens (or creates) by name only: nothing inherited is used.
    auto q = ByteQueue::open_or_create(name, {.capacity = 4, .max_message = 64});
    for (std::uint32_t s = 0; s < 100; ++s) {
      const auto m = test::stress_message(9, s, 64);
      check_in_child(q.push_for(std::span<const std::byte>(m), test::kGenerous) == QueueStatus::ok,
                     "push");
    }
    q.close();
  });
  auto q = ByteQueue::open_or_create(name, {.capacity = 4, .max_message = 64});
  std::vector<std::byte> got;
  for (std::uint32_t s = 0; s < 100; ++s) {
    ASSERT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::ok);
    EXPECT_EQ(test::check_stress_message(got, 64), test::tag_of(9, s));
  }
  EXPECT_EQ(q.pop_for(got, test::kGenerous), QueueStatus::closed);
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

}  // namespace
}  // namespace shmkit
