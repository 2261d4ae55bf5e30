#include "shmkit/value.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/array.hpp"
#include "shmkit/sync/mutex.hpp"
#include "sync_test_util.hpp"

namespace shmkit {
namespace {

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

// Too large for a lock-free atomic: every operation takes the embedded mutex.
struct Big {
  std::uint64_t count;
  std::uint64_t sum;
  std::uint64_t a;
  std::uint64_t b;
  std::uint64_t c;
  friend bool operator==(const Big&, const Big&) = default;
};
static_assert(sizeof(Big) == 40);

static_assert(Value<std::uint64_t>::is_lock_free);
static_assert(Value<double>::is_lock_free);
static_assert(!Value<Big>::is_lock_free);

// fetch_add exists exactly where it compiles: arithmetic T, but not bool.
template <class V>
concept HasFetchAdd = requires(V v) {
  v.fetch_add({});
};
static_assert(HasFetchAdd<Value<std::uint64_t>>);
static_assert(HasFetchAdd<Value<double>>);
static_assert(!HasFetchAdd<Value<bool>>);
static_assert(!HasFetchAdd<Value<Big>>);

TEST(Value, LoadStoreExchangeAndCompareExchangeOnALockFreeWord) {
  const test::ScopedName name("val");
  Value<std::uint64_t> v = Value<std::uint64_t>::create(name, 5);
  EXPECT_EQ(v.load(), 5u);
  v.store(7);
  EXPECT_EQ(v.load(), 7u);
  EXPECT_EQ(v.exchange(9), 7u);
  std::uint64_t expected = 1;
  EXPECT_FALSE(v.compare_exchange(expected, 11));
  EXPECT_EQ(expected, 9u);  // the current value
  EXPECT_TRUE(v.compare_exchange(expected, 11));
  EXPECT_EQ(v.load(), 11u);
  EXPECT_EQ(v.fetch_add(4), 11u);
  EXPECT_EQ(Value<std::uint64_t>::open(name).load(), 15u);
  EXPECT_FALSE(v.state().mutex.locked());  // no lock was needed
}

TEST(Value, LoadStoreExchangeAndCompareExchangeOnAFortyByteStruct) {
  const test::ScopedName name("val");
  Value<Big> v = Value<Big>::create(name, Big{1, 2, 3, 4, 5});
  EXPECT_EQ(v.load(), (Big{1, 2, 3, 4, 5}));
  v.store(Big{6, 7, 8, 9, 10});
  EXPECT_EQ(v.load(), (Big{6, 7, 8, 9, 10}));
  EXPECT_EQ(v.exchange(Big{}), (Big{6, 7, 8, 9, 10}));
  Big expected{1, 1, 1, 1, 1};
  EXPECT_FALSE(v.compare_exchange(expected, Big{2, 2, 2, 2, 2}));
  EXPECT_EQ(expected, Big{});
  EXPECT_TRUE(v.compare_exchange(expected, Big{2, 2, 2, 2, 2}));
  EXPECT_EQ(Value<Big>::open(name).load(), (Big{2, 2, 2, 2, 2}));
  EXPECT_FALSE(v.state().mutex.locked());  // each operation released the lock
}

TEST(Value, OpenOrCreateKeepsTheFirstInitialValue) {
  const test::ScopedName name("val");
  auto first = Value<std::int32_t>::open_or_create(name, -3);
  EXPECT_TRUE(first.segment().created());
  auto second = Value<std::int32_t>::open_or_create(name, 8);
  EXPECT_FALSE(second.segment().created());
  EXPECT_EQ(second.load(), -3);
  second.store(4);
  EXPECT_EQ(first.load(), 4);
}

TEST(Value, FetchAddFromFourProcessesGivesTheExactTotal) {
  constexpr int kProcs = 4;
  constexpr std::uint64_t kAdds = 100'000;
  const test::ScopedName name("val");
  const auto total = Value<std::uint64_t>::create(name, 0);
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pids.push_back(test::fork_child([&] {
      auto v = Value<std::uint64_t>::open(name);
      test::require(start.receive(), "no start");
      for (std::uint64_t i = 0; i < kAdds; ++i) v.fetch_add(1);
    }));
  }
  start.send(kProcs);
  ASSERT_TRUE(test::all_exit_zero(pids));
  EXPECT_EQ(total.load(), kProcs * kAdds);
}

TEST(Value, FetchAddOfANonLockFreeArithmeticTypeFromFourProcessesIsExact) {
  using Wide = long double;
  if constexpr (Value<Wide>::is_lock_free) GTEST_SKIP() << "long double is lock-free here";
  constexpr int kProcs = 4;
  constexpr int kAdds = 2000;
  const test::ScopedName name("val");
  const auto total = Value<Wide>::create(name, 0);
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pids.push_back(test::fork_child([&] {
      auto v = Value<Wide>::open(name);
      for (int i = 0; i < kAdds; ++i) v.fetch_add(1);
    }));
  }
  ASSERT_TRUE(test::all_exit_zero(pids));
  EXPECT_EQ(total.load(), static_cast<Wide>(kProcs * kAdds));
}

TEST(Value, FetchAddFromFourThreadsGivesTheExactTotal) {
  const auto adds = static_cast<std::uint64_t>(test::scaled(100'000));
  const test::ScopedName name("val");
  auto v = Value<std::uint64_t>::create(name, 0);
  const test::ScopedName wide_name("wide");
  auto wide = Value<long double>::create(wide_name, 0);
  test::run_threads(4, [&](int) {
    for (std::uint64_t i = 0; i < adds; ++i) v.fetch_add(1);
    for (std::uint64_t i = 0; i < adds / 100; ++i) wide.fetch_add(1);
  });
  EXPECT_EQ(v.load(), 4 * adds);
  EXPECT_EQ(wide.load(), static_cast<long double>(4 * (adds / 100)));
}

// count and sum change together under the lock: sum == count*(count-1)/2
// holds whenever the lock is free.
void add_under_lock(Value<Big>& v, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    auto locked = v.lock();
    test::require(!locked.owner_died(), "owner died");
    locked->sum += locked->count;
    locked->count += 1;
    (*locked).a = locked->count;
  }
}

TEST(Value, LockedAccessUpdatesAStructFromFourProcessesExactly) {
  constexpr int kProcs = 4;
  constexpr std::uint64_t kEach = 10'000;
  const test::ScopedName name("val");
  auto v = Value<Big>::create(name);
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pids.push_back(test::fork_child([&] {
      auto mine = Value<Big>::open(name);
      test::require(start.receive(), "no start");
      add_under_lock(mine, kEach);
    }));
  }
  start.send(kProcs);
  ASSERT_TRUE(test::all_exit_zero(pids));
  const Big result = v.load();
  const std::uint64_t n = kProcs * kEach;
  EXPECT_EQ(result.count, n);
  EXPECT_EQ(result.sum, n * (n - 1) / 2);
  EXPECT_EQ(result.a, n);
}

TEST(Value, LockedAccessUpdatesAStructFromFourThreadsExactly) {
  const auto each = static_cast<std::uint64_t>(test::scaled(10'000));
  const test::ScopedName name("val");
  auto v = Value<Big>::create(name);
  test::run_threads(4, [&](int) { add_under_lock(v, each); });
  const Big result = v.load();
  const std::uint64_t n = 4 * each;
  EXPECT_EQ(result.count, n);
  EXPECT_EQ(result.sum, n * (n - 1) / 2);
}

TEST(Value, LockReportsOwnerDiedAfterAHolderWasKilled) {
  const test::ScopedName name("val");
  auto v = Value<Big>::create(name);
  ASSERT_TRUE(test::kill_holding([&](const std::function<void()>& stay) {
    auto mine = Value<Big>::open(name);
    auto locked = mine.lock();
    locked->a = 1;  // half an update: b is still 0
    stay();
  }));
  {
    auto locked = v.lock();
    EXPECT_TRUE(locked.owner_died());
    EXPECT_EQ(locked->a, 1u);
    locked->b = locked->a;  // the repair
  }
  auto locked = v.lock();
  EXPECT_FALSE(locked.owner_died());
  EXPECT_EQ(locked->b, 1u);
}

// A holder killed halfway through writing a non-lock-free value: the
// operations after it throw owner_died, every time, until a lock() holder
// repairs the value; none returns the half-written value.
TEST(Value, OperationsAfterAHolderKilledHalfwayThrowUntilALockHolderRepairs) {
  const test::ScopedName name("val");
  auto v = Value<Big>::create(name, Big{1, 1, 1, 1, 1});
  ASSERT_TRUE(test::kill_holding([&](const std::function<void()>& stay) {
    auto mine = Value<Big>::open(name);
    auto locked = mine.lock();
    locked->a = 2;  // half an update
    stay();
  }));

  for (int i = 0; i < 2; ++i) {  // the first throw does not clear it
    const test::Thrown thrown = test::thrown_by([&] { (void)v.load(); });
    EXPECT_EQ(thrown.code, make_error_code(Errc::owner_died));
    EXPECT_NE(thrown.message.find("value '" + name.str() + "': a process died holding its lock"),
              std::string::npos)
        << thrown.message;
  }
  EXPECT_EQ(test::thrown_by([&] { (void)v.exchange(Big{}); }).code,
            make_error_code(Errc::owner_died));
  Big expected{};
  EXPECT_EQ(test::thrown_by([&] { (void)v.compare_exchange(expected, Big{}); }).code,
            make_error_code(Errc::owner_died));
  {
    auto locked = v.lock();
    EXPECT_TRUE(locked.owner_died());
    EXPECT_EQ(locked->a, 2u);
    *locked = Big{2, 2, 2, 2, 2};  // the repair
  }
  EXPECT_EQ(v.load(), (Big{2, 2, 2, 2, 2}));
  EXPECT_FALSE(v.lock().owner_died());
}

TEST(Value, AStoreAfterAHolderWasKilledOverwritesTheWholeValue) {
  const test::ScopedName name("val");
  auto v = Value<Big>::create(name);
  ASSERT_TRUE(test::kill_holding([&](const std::function<void()>& stay) {
    auto mine = Value<Big>::open(name);
    auto locked = mine.lock();
    locked->a = 2;
    stay();
  }));
  v.store(Big{3, 3, 3, 3, 3});
  EXPECT_EQ(v.load(), (Big{3, 3, 3, 3, 3}));
  EXPECT_FALSE(v.lock().owner_died());
}

// Kills a process storing whole values in a loop at random instants: the
// survivor never loads a mix of two values. It loads an intact one, or is
// told owner_died and finds the lock reporting it.
TEST(Value, AStorerKilledAtAnyInstantNeverLeavesAMixedValueToLoad) {
  struct Page {
    std::array<std::uint64_t, 2048> words;  // 16 KiB: a store takes a while
  };
  const auto filled = [](std::uint64_t x) {
    Page p{};
    p.words.fill(x);
    return p;
  };
  std::mt19937 random(7);
  int told = 0;
  for (int trial = 0; trial < 20; ++trial) {
    const test::ScopedName name("val");
    auto v = Value<Page>::create(name, filled(0));
    const test::Pipe started;
    const pid_t storer = test::fork_child([&] {
      auto mine = Value<Page>::open(name);
      const Page one = filled(1);
      const Page two = filled(2);
      started.send();
      for (;;) {
        mine.store(one);
        mine.store(two);
      }
    });
    const test::KillOnExit storer_guard(storer);
    ASSERT_TRUE(started.receive());
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 2000));
    ASSERT_EQ(::kill(storer, SIGKILL), 0);
    ASSERT_EQ(test::wait_exit_code(storer), 128 + SIGKILL);
    const test::Thrown thrown = test::thrown_by([&] {
      const Page got = v.load();
      const std::uint64_t first = got.words[0];
      EXPECT_TRUE(std::all_of(got.words.begin(), got.words.end(),
                              [&](std::uint64_t w) { return w == first; }))
          << "a mixed value in trial " << trial;
    });
    if (thrown.code) {
      EXPECT_EQ(thrown.code, make_error_code(Errc::owner_died));
      EXPECT_TRUE(v.lock().owner_died());
      ++told;
    }
  }
  // Most kills land inside a store (the loop does little else).
  EXPECT_GT(told, 0);
}

TEST(Value, OpenWithAnotherTypeIsATypeMismatch) {
  const test::ScopedName name("val");
  const auto v = Value<std::uint64_t>::create(name, 1);
  const auto mismatch = make_error_code(Errc::type_mismatch);
  EXPECT_EQ(test::thrown_by([&] { Value<std::int64_t>::open(name); }).code, mismatch);
  EXPECT_EQ(test::thrown_by([&] { Value<std::uint32_t>::open(name); }).code, mismatch);
  EXPECT_EQ(test::thrown_by([&] { Value<double>::open(name); }).code, mismatch);
  EXPECT_EQ(test::thrown_by([&] { Value<Big>::open(name); }).code, mismatch);
  EXPECT_EQ(test::thrown_by([&] { Value<std::int64_t>::open_or_create(name, 0); }).code, mismatch);
  EXPECT_EQ(Value<std::uint64_t>::open(name).load(), 1u);
}

TEST(Value, OpenWithAnotherKindIsWrongKind) {
  const test::ScopedName array_name("arr");
  const auto array = Array<std::uint64_t>::create(array_name, 1);
  EXPECT_EQ(test::thrown_by([&] { Value<std::uint64_t>::open(array_name); }).code,
            make_error_code(Errc::wrong_kind));
  const test::ScopedName mutex_name("mtx");
  const Mutex mutex = Mutex::create(mutex_name);
  EXPECT_EQ(test::thrown_by([&] { Value<std::uint64_t>::open(mutex_name); }).code,
            make_error_code(Errc::wrong_kind));
  const test::ScopedName value_name("val");
  const auto value = Value<std::uint64_t>::create(value_name);
  EXPECT_EQ(test::thrown_by([&] { Mutex::open(value_name); }).code,
            make_error_code(Errc::wrong_kind));
}

}  // namespace
}  // namespace shmkit
