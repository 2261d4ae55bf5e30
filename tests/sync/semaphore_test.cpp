#include "shmkit/sync/semaphore.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/sync/mutex.hpp"
#include "sync_test_util.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

TEST(Semaphore, StartsWithItsInitialCountWhichTryAcquireTakes) {
  const test::ScopedName name("sem");
  Semaphore sem = Semaphore::create(name, 3);
  EXPECT_EQ(sem.value(), 3u);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  EXPECT_EQ(sem.value(), 0u);
  EXPECT_TRUE(sem.release());
  EXPECT_EQ(sem.value(), 1u);
  EXPECT_TRUE(sem.try_acquire_for(test::kGenerous));
  EXPECT_EQ(sem.value(), 0u);
}

TEST(Semaphore, TryAcquireForTimesOutWhenNoUnitComes) {
  const test::ScopedName name("sem");
  Semaphore sem = Semaphore::create(name, 0);
  EXPECT_FALSE(sem.try_acquire_for(10ms));
  EXPECT_FALSE(sem.try_acquire_for(0ms));
  EXPECT_EQ(sem.value(), 0u);
  EXPECT_EQ(sem.state().waiting(), 0u);
}

TEST(Semaphore, OpenOrCreateAppliesTheInitialCountOnlyWhenItCreates) {
  const test::ScopedName name("sem");
  Semaphore first = Semaphore::open_or_create(name, 2);
  EXPECT_TRUE(first.segment().created());
  Semaphore second = Semaphore::open_or_create(name, 7);
  EXPECT_FALSE(second.segment().created());
  EXPECT_EQ(second.value(), 2u);
  EXPECT_TRUE(second.try_acquire());
  EXPECT_EQ(first.value(), 1u);
  EXPECT_EQ(Semaphore::open(name).value(), 1u);
}

TEST(Semaphore, ReleaseRefusesToOverflowAndAddsNothing) {
  const test::ScopedName name("sem");
  const test::ScopedName low_name("sem");
  Semaphore sem = Semaphore::create(name, sync::kSemaphoreMax - 1);
  EXPECT_FALSE(sem.release(2));
  EXPECT_EQ(sem.value(), sync::kSemaphoreMax - 1);
  EXPECT_TRUE(sem.release(1));
  EXPECT_EQ(sem.value(), sync::kSemaphoreMax);
  EXPECT_FALSE(sem.release(1));
  EXPECT_FALSE(sem.release(sync::kSemaphoreMax));
  EXPECT_EQ(sem.value(), sync::kSemaphoreMax);
  EXPECT_TRUE(sem.release(0));

  // An n above the maximum adds nothing whatever the count (kSemaphoreMax - n
  // must not wrap).
  Semaphore low = Semaphore::create(low_name, 1);
  EXPECT_FALSE(low.release(0xffffffffu));
  EXPECT_FALSE(low.release(sync::kSemaphoreMax + 2));
  EXPECT_EQ(low.value(), 1u);
  ASSERT_TRUE(low.try_acquire());
  EXPECT_FALSE(low.release(sync::kSemaphoreMax + 1));
  EXPECT_EQ(low.value(), 0u);
  EXPECT_TRUE(low.release(sync::kSemaphoreMax));
  EXPECT_EQ(low.value(), sync::kSemaphoreMax);
}

TEST(Semaphore, CreateRefusesAnInitialCountAboveTheMaximum) {
  const test::ScopedName name("sem");
  EXPECT_EQ(test::thrown_by([&] { Semaphore::create(name, sync::kSemaphoreMax + 1); }).code,
            std::make_error_code(std::errc::invalid_argument));
  EXPECT_EQ(test::thrown_by([&] { Semaphore::open(name); }).code, make_error_code(Errc::not_found));
  const test::ScopedName mutex_name("mtx");
  const Mutex mutex = Mutex::create(mutex_name);
  EXPECT_EQ(test::thrown_by([&] { Semaphore::open(mutex_name); }).code,
            make_error_code(Errc::wrong_kind));
}

TEST(Semaphore, OpenRefusesACountAboveTheMaximum) {
  const test::ScopedName name("sem");
  {
    const Semaphore sem = Semaphore::create(name, 1);
    // What a buggy or hostile process could write: units nobody released.
    sem.state().count.store(sync::kSemaphoreMax + 1);
  }
  const test::Thrown thrown = test::thrown_by([&] { Semaphore::open(name); });
  EXPECT_EQ(thrown.code, make_error_code(Errc::corrupt));
  EXPECT_NE(thrown.message.find("count 2147483648 exceeds the maximum"), std::string::npos)
      << thrown.message;
}

TEST(Semaphore, ReleaseOfNWakesNProcessesAsleepInAcquire) {
  constexpr int kWaiters = 4;
  const test::ScopedName name("sem");
  const test::ScopedName count_name("count");
  Semaphore sem = Semaphore::create(name, 0);
  const test::SharedStruct<std::atomic<std::uint32_t>> acquired(count_name);
  const test::Pipe got;
  std::vector<pid_t> pids;
  for (int p = 0; p < kWaiters; ++p) {
    pids.push_back(test::fork_child([&] {
      Semaphore s = Semaphore::open(name);
      test::require(s.try_acquire_for(test::kGenerous), "no unit within the timeout");
      acquired->fetch_add(1);
      got.send();
    }));
  }
  ASSERT_TRUE(test::wait_until_asleep([&] { return sem.state().waiting(); }, kWaiters, pids));
  ASSERT_TRUE(sem.release(2));
  ASSERT_TRUE(got.receive());
  ASSERT_TRUE(got.receive());
  // Two units, two takers: the other two still wait.
  EXPECT_EQ(acquired->load(), 2u);
  EXPECT_EQ(sem.value(), 0u);
  ASSERT_TRUE(sem.release(2));
  EXPECT_TRUE(test::all_exit_zero(pids));
  EXPECT_EQ(acquired->load(), 4u);
  EXPECT_EQ(sem.value(), 0u);
  EXPECT_EQ(sem.state().waiting(), 0u);
}

// A bounded buffer of kSlots values: `spaces` counts free slots, `items`
// filled ones; the mutex orders the slot indices.
constexpr std::uint64_t kSlots = 8;
struct Buffer {
  sync::MutexState mutex;
  sync::SemaphoreState spaces;
  sync::SemaphoreState items;
  std::uint64_t head;  // next slot to fill; under mutex
  std::uint64_t tail;  // next slot to empty; under mutex
  std::uint64_t slots[kSlots];
  std::uint64_t consumed_sum[2];
  std::uint64_t consumed_count[2];
};

void produce(Buffer& b, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t v = first; v < first + count; ++v) {
    test::require(b.spaces.acquire_until(detail::deadline_after(test::kGenerous)), "no space");
    test::require(holds(b.mutex.lock()), "lock");
    b.slots[b.head % kSlots] = v;
    ++b.head;
    b.mutex.unlock();
    test::require(b.items.release(), "items overflow");
  }
}

void consume(Buffer& b, int who, std::uint64_t count, std::uint8_t* seen) {
  std::uint64_t sum = 0;
  for (std::uint64_t n = 0; n < count; ++n) {
    test::require(b.items.acquire_until(detail::deadline_after(test::kGenerous)), "no item");
    test::require(holds(b.mutex.lock()), "lock");
    const std::uint64_t v = b.slots[b.tail % kSlots];
    ++b.tail;
    b.mutex.unlock();
    test::require(b.spaces.release(), "spaces overflow");
    ++seen[v];  // each value is taken once, so each byte has one writer
    sum += v;
  }
  b.consumed_sum[who] = sum;
  b.consumed_count[who] = count;
}

void expect_every_value_once(const Buffer& b, const std::uint8_t* seen, std::uint64_t total) {
  EXPECT_EQ(b.consumed_count[0] + b.consumed_count[1], total);
  EXPECT_EQ(b.consumed_sum[0] + b.consumed_sum[1], total * (total - 1) / 2);
  std::uint64_t once = 0;
  for (std::uint64_t v = 0; v < total; ++v) once += seen[v] == 1 ? 1 : 0;
  EXPECT_EQ(once, total);
  EXPECT_EQ(b.head, total);
  EXPECT_EQ(b.tail, total);
  EXPECT_EQ(b.items.value(), 0u);
  EXPECT_EQ(b.spaces.value(), kSlots);
}

TEST(Semaphore, ProducersAndConsumersInFourProcessesMoveEveryValueOnce) {
  constexpr std::uint64_t kPerProducer = 20'000;
  constexpr std::uint64_t kTotal = 2 * kPerProducer;
  const test::ScopedName buffer_name("buf");
  const test::ScopedName seen_name("seen");
  const test::SharedStruct<Buffer> buffer(buffer_name);
  ASSERT_TRUE(buffer->spaces.release(kSlots));
  const SharedMemory seen_memory = SharedMemory::create(seen_name, kTotal);
  auto* seen = reinterpret_cast<std::uint8_t*>(seen_memory.data());  // NOLINT: test layout
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (int p = 0; p < 2; ++p) {
    pids.push_back(test::fork_child([&, p] {
      test::require(start.receive(), "no start");
      produce(*buffer, static_cast<std::uint64_t>(p) * kPerProducer, kPerProducer);
    }));
    pids.push_back(test::fork_child([&, p] {
      test::require(start.receive(), "no start");
      consume(*buffer, p, kPerProducer, seen);
    }));
  }
  start.send(pids.size());
  ASSERT_TRUE(test::all_exit_zero(pids));
  expect_every_value_once(*buffer, seen, kTotal);
}

TEST(Semaphore, ProducersAndConsumersOnThreadsOfOneMappingMoveEveryValueOnce) {
  const auto per_producer = static_cast<std::uint64_t>(test::scaled(20'000));
  const std::uint64_t total = 2 * per_producer;
  const test::ScopedName buffer_name("buf");
  const test::SharedStruct<Buffer> buffer(buffer_name);
  ASSERT_TRUE(buffer->spaces.release(kSlots));
  std::vector<std::uint8_t> seen(total, 0);
  test::run_threads(4, [&](int t) {
    const int who = t / 2;
    if (t % 2 == 0) {
      produce(*buffer, static_cast<std::uint64_t>(who) * per_producer, per_producer);
    } else {
      consume(*buffer, who, per_producer, seen.data());
    }
  });
  expect_every_value_once(*buffer, seen.data(), total);
}

TEST(Semaphore, ReleaseWakesThreadsAsleepInAcquire) {
  constexpr int kThreads = 3;
  const test::ScopedName name("sem");
  Semaphore sem = Semaphore::create(name, 0);
  std::atomic<int> taken{0};
  std::vector<std::atomic<pid_t>> tids(kThreads);
  std::thread releaser([&] {
    std::vector<pid_t> ids;
    for (auto& t : tids) {
      while (t.load() == 0) std::this_thread::yield();
      ids.push_back(t.load());
    }
    if (test::wait_until_asleep([&] { return sem.state().waiting(); }, kThreads, ids))
      sem.release(kThreads);
  });
  test::run_threads(kThreads, [&](int i) {
    tids[static_cast<std::size_t>(i)].store(platform::current_tid());
    if (sem.try_acquire_for(test::kGenerous)) taken.fetch_add(1);
  });
  releaser.join();
  EXPECT_EQ(taken.load(), kThreads);
  EXPECT_EQ(sem.value(), 0u);
}

// An acquirer killed asleep stays counted, and every release would make a
// wake-up call for it. The first release that wakes nobody drops the count
// (a fresh thread here: a thread drops at most once per check interval);
// later releases leave the futex word alone, and an acquirer that sleeps
// afterwards is counted and woken as before.
TEST(Semaphore, AnAcquirerKilledAsleepIsDroppedByTheNextRelease) {
  const test::ScopedName name("sem-dead-waiter");
  Semaphore sem = Semaphore::create(name, 0);
  ASSERT_TRUE(test::kill_asleep([&] { Semaphore::open(name).acquire(); },
                                [&] { return sem.state().waiting(); }));
  ASSERT_EQ(sem.state().waiting(), 1u);  // left behind
  std::thread([&] { EXPECT_TRUE(sem.release()); }).join();
  EXPECT_EQ(sem.state().waiting(), 0u);
  const std::uint32_t quiet = sem.state().wake_seq.load();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(sem.release());
    ASSERT_TRUE(sem.try_acquire());
  }
  EXPECT_EQ(sem.state().wake_seq.load(), quiet);
  ASSERT_TRUE(sem.try_acquire());  // the first release's unit
  EXPECT_TRUE(test::sleeps_then_wakes([&] { return sem.try_acquire_for(test::kGenerous); },
                                      [&] { return sem.state().waiting(); },
                                      [&] { EXPECT_TRUE(sem.release()); }));
  EXPECT_EQ(sem.state().waiting(), 0u);
}

}  // namespace
}  // namespace shmkit
