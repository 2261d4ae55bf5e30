#include "shmkit/array.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/sync/event.hpp"
#include "shmkit/value.hpp"
#include "sync_test_util.hpp"

namespace shmkit {
namespace {

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

// Too large for a lock-free atomic: element operations take the embedded mutex.
struct Big {
  std::uint64_t f[5];
  friend bool operator==(const Big&, const Big&) = default;
};
static_assert(sizeof(Big) == 40);
static_assert(Array<std::uint64_t>::is_lock_free);
static_assert(!Array<Big>::is_lock_free);

// fetch_add exists exactly where it compiles: arithmetic T, but not bool.
template <class A>
concept HasFetchAdd = requires(A a) {
  a.fetch_add(0, {});
};
static_assert(HasFetchAdd<Array<std::uint32_t>>);
static_assert(!HasFetchAdd<Array<bool>>);
static_assert(!HasFetchAdd<Array<Big>>);

Big filled(std::uint64_t v) { return Big{{v, v, v, v, v}}; }

TEST(Array, HasItsLengthAndStartsZeroed) {
  const test::ScopedName name("arr");
  auto arr = Array<std::uint64_t>::create(name, 10);
  EXPECT_EQ(arr.size(), 10u);
  for (std::size_t i = 0; i < arr.size(); ++i) EXPECT_EQ(arr.load(i), 0u);
  arr.store(3, 33);
  arr[4] = 44;
  EXPECT_EQ(arr.fetch_add(5, 2), 0u);
  const auto opened = Array<std::uint64_t>::open(name);
  EXPECT_EQ(opened.size(), 10u);
  EXPECT_EQ(opened.at(3), 33u);
  EXPECT_EQ(opened.load(4), 44u);
  EXPECT_EQ(opened[5], 2u);
  EXPECT_FALSE(opened.state().mutex.locked());
}

TEST(Array, AccessPastTheEndThrowsOutOfRange) {
  const test::ScopedName name("arr");
  auto arr = Array<std::uint64_t>::create(name, 10);
  EXPECT_NO_THROW(arr.at(9));
  EXPECT_THROW(arr.at(10), std::out_of_range);
  EXPECT_THROW(arr.at(std::numeric_limits<std::size_t>::max()), std::out_of_range);
  EXPECT_THROW((void)arr.load(10), std::out_of_range);
  EXPECT_THROW(arr.store(10, 1), std::out_of_range);
  EXPECT_THROW(arr.fetch_add(10, 1), std::out_of_range);
  const test::ScopedName big_name("big");
  auto big = Array<Big>::create(big_name, 2);
  EXPECT_THROW((void)big.load(2), std::out_of_range);
  EXPECT_THROW(big.store(2, Big{}), std::out_of_range);
  EXPECT_FALSE(big.state().mutex.locked());
}

TEST(Array, OpenOrCreateKeepsTheFirstLength) {
  const test::ScopedName name("arr");
  auto first = Array<std::int16_t>::open_or_create(name, 3);
  EXPECT_TRUE(first.segment().created());
  auto second = Array<std::int16_t>::open_or_create(name, 30);
  EXPECT_FALSE(second.segment().created());
  EXPECT_EQ(second.size(), 3u);
}

TEST(Array, CreateRefusesAZeroOrImpossibleLength) {
  const test::ScopedName name("arr");
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  EXPECT_EQ(test::thrown_by([&] { Array<std::uint64_t>::create(name, 0); }).code, invalid);
  EXPECT_EQ(test::thrown_by([&] {
              Array<std::uint64_t>::create(name, std::numeric_limits<std::size_t>::max());
            }).code,
            invalid);
  EXPECT_EQ(test::thrown_by([&] { Array<std::uint64_t>::open(name); }).code,
            make_error_code(Errc::not_found));
}

TEST(Array, FetchAddFromFourProcessesGivesExactTotals) {
  constexpr int kProcs = 4;
  constexpr std::size_t kLength = 8;
  constexpr std::uint64_t kAdds = 40'000;  // per process, spread over the elements
  const test::ScopedName name("arr");
  const auto arr = Array<std::uint64_t>::create(name, kLength);
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pids.push_back(test::fork_child([&] {
      auto mine = Array<std::uint64_t>::open(name);
      test::require(start.receive(), "no start");
      for (std::uint64_t i = 0; i < kAdds; ++i) mine.fetch_add(i % kLength, i);
    }));
  }
  start.send(kProcs);
  ASSERT_TRUE(test::all_exit_zero(pids));
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < kLength; ++i) sum += arr.load(i);
  EXPECT_EQ(sum, kProcs * (kAdds * (kAdds - 1) / 2));
  // Element e received e, e+8, e+16, ...: each total is exact too.
  for (std::size_t e = 0; e < kLength; ++e) {
    std::uint64_t expected = 0;
    for (std::uint64_t i = e; i < kAdds; i += kLength) expected += i;
    EXPECT_EQ(arr.load(e), kProcs * expected) << "element " << e;
  }
}

TEST(Array, FetchAddFromFourThreadsGivesExactTotals) {
  const auto adds = static_cast<std::uint64_t>(test::scaled(40'000));
  const test::ScopedName name("arr");
  auto arr = Array<std::uint32_t>::create(name, 4);
  test::run_threads(4, [&](int) {
    for (std::uint64_t i = 0; i < adds; ++i) arr.fetch_add(i % 4, 1);
  });
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < arr.size(); ++i) sum += arr.load(i);
  EXPECT_EQ(sum, 4 * adds);
}

// A writer stores elements with all five fields equal; a reader's loads must
// never see a torn element (fields from two stores).
TEST(Array, FortyByteElementsAreStoredAndLoadedWholeAcrossProcesses) {
  constexpr std::uint64_t kStores = 20'000;
  const test::ScopedName name("big");
  auto arr = Array<Big>::create(name, 2);
  const test::Pipe start;
  const pid_t writer = test::fork_child([&] {
    auto mine = Array<Big>::open(name);
    test::require(start.receive(), "no start");
    for (std::uint64_t v = 1; v <= kStores; ++v) mine.store(v % 2, filled(v));
  });
  start.send();
  std::uint64_t torn = 0;
  std::uint64_t last = 0;
  const auto deadline = std::chrono::steady_clock::now() + test::kGenerous;
  while (last < kStores - 1 && std::chrono::steady_clock::now() < deadline) {
    for (std::size_t i = 0; i < 2; ++i) {
      const Big b = arr.load(i);
      if (!(b == filled(b.f[0]))) ++torn;
      last = std::max(last, b.f[0]);
    }
  }
  EXPECT_EQ(torn, 0u);
  EXPECT_EQ(test::wait_exit_code(writer), 0);
  EXPECT_EQ(arr.load(0), filled(kStores));
  EXPECT_EQ(arr.load(1), filled(kStores - 1));
}

// A holder killed inside lock(): load and even store of one element throw
// owner_died (other elements may be half-written) until lock() repairs.
TEST(Array, OperationsAfterAHolderKilledInsideLockThrowUntilRepaired) {
  const test::ScopedName name("big");
  auto arr = Array<Big>::create(name, 2);
  ASSERT_TRUE(test::kill_holding([&](const std::function<void()>& stay) {
    auto mine = Array<Big>::open(name);
    auto locked = mine.lock();
    locked[1].f[0] = 9;  // half an update
    stay();
  }));
  const test::Thrown load = test::thrown_by([&] { (void)arr.load(0); });
  EXPECT_EQ(load.code, make_error_code(Errc::owner_died));
  EXPECT_NE(load.message.find("array '" + name.str() + "'"), std::string::npos) << load.message;
  EXPECT_EQ(test::thrown_by([&] { arr.store(0, filled(1)); }).code,
            make_error_code(Errc::owner_died));
  {
    auto locked = arr.lock();
    EXPECT_TRUE(locked.owner_died());
    locked[1] = filled(9);
  }
  arr.store(0, filled(1));
  EXPECT_EQ(arr.load(0), filled(1));
  EXPECT_EQ(arr.load(1), filled(9));
}

// Under lock(), every element goes up by one: they stay equal to each other
// and end at the number of updates.
void bump_all(Array<std::uint64_t>& arr, std::uint64_t times) {
  for (std::uint64_t n = 0; n < times; ++n) {
    auto locked = arr.lock();
    test::require(!locked.owner_died(), "owner died");
    const std::uint64_t first = locked[0];
    for (std::uint64_t& x : locked.span()) {
      test::require(x == first, "elements differ under the lock");
      ++x;
    }
  }
}

TEST(Array, LockedSpanUpdatesEveryElementTogetherFromFourProcesses) {
  constexpr int kProcs = 4;
  constexpr std::uint64_t kEach = 5000;
  const test::ScopedName name("arr");
  const auto arr = Array<std::uint64_t>::create(name, 16);
  const test::Pipe start;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pids.push_back(test::fork_child([&] {
      auto mine = Array<std::uint64_t>::open(name);
      test::require(start.receive(), "no start");
      bump_all(mine, kEach);
    }));
  }
  start.send(kProcs);
  ASSERT_TRUE(test::all_exit_zero(pids));
  for (std::size_t i = 0; i < arr.size(); ++i) EXPECT_EQ(arr[i], kProcs * kEach);
}

TEST(Array, LockedSpanUpdatesEveryElementTogetherFromFourThreads) {
  const auto each = static_cast<std::uint64_t>(test::scaled(5000));
  const test::ScopedName name("arr");
  auto arr = Array<std::uint64_t>::create(name, 16);
  std::atomic<int> failures{0};
  test::run_threads(4, [&](int) {
    try {
      bump_all(arr, each);
    } catch (const std::exception&) {
      failures.fetch_add(1);
    }
  });
  EXPECT_EQ(failures.load(), 0);
  auto locked = arr.lock();
  for (const std::uint64_t x : locked.span()) EXPECT_EQ(x, 4 * each);
}

TEST(Array, OpenWithAnotherElementTypeIsATypeMismatch) {
  const test::ScopedName name("arr");
  const auto arr = Array<std::uint64_t>::create(name, 4);
  const auto mismatch = make_error_code(Errc::type_mismatch);
  EXPECT_EQ(test::thrown_by([&] { Array<std::uint32_t>::open(name); }).code, mismatch);
  EXPECT_EQ(test::thrown_by([&] { Array<std::int64_t>::open(name); }).code, mismatch);
  EXPECT_EQ(test::thrown_by([&] { Array<Big>::open(name); }).code, mismatch);
  EXPECT_EQ(test::thrown_by([&] { Array<double>::open_or_create(name, 4); }).code, mismatch);
}

TEST(Array, OpenWithAnotherKindIsWrongKind) {
  const test::ScopedName name("val");
  const auto value = Value<std::uint64_t>::create(name);
  EXPECT_EQ(test::thrown_by([&] { Array<std::uint64_t>::open(name); }).code,
            make_error_code(Errc::wrong_kind));
  const test::ScopedName bytes_name("bytes");
  const SharedMemory bytes = SharedMemory::create(bytes_name, 4096);
  EXPECT_EQ(test::thrown_by([&] { Array<std::uint8_t>::open(bytes_name); }).code,
            make_error_code(Errc::wrong_kind));
}

TEST(Array, OpenWithAnotherKindNamesBothKindsWithTheirArticles) {
  const test::ScopedName value_name("val");
  const auto value = Value<std::uint64_t>::create(value_name);
  const test::Thrown as_array = test::thrown_by([&] { Array<std::uint64_t>::open(value_name); });
  EXPECT_NE(as_array.message.find("it is a value object, not an array object"), std::string::npos)
      << as_array.message;
  const test::ScopedName array_name("arr");
  const auto arr = Array<std::uint64_t>::create(array_name, 4);
  const test::Thrown as_event = test::thrown_by([&] { Event::open(array_name); });
  EXPECT_NE(as_event.message.find("it is an array object, not an event object"), std::string::npos)
      << as_event.message;
}

TEST(Array, ALengthPastItsMemoryIsCorruptOnOpen) {
  const test::ScopedName name("arr");
  const auto arr = Array<std::uint64_t>::create(name, 4);
  // What fits in the object's memory after the head; at least the 4 created.
  const std::uint64_t room =
      (arr.segment().data().size() - detail::kArrayElementsOffset<std::uint64_t>) /
      sizeof(std::uint64_t);
  ASSERT_GE(room, 4u);
  std::uint64_t& length = arr.state().length;  // as a buggy or hostile process could
  const auto corrupt = make_error_code(Errc::corrupt);
  for (const std::uint64_t bad :
       {room + 1, std::uint64_t{1} << 40, std::numeric_limits<std::uint64_t>::max()}) {
    length = bad;
    const test::Thrown thrown = test::thrown_by([&] { Array<std::uint64_t>::open(name); });
    EXPECT_EQ(thrown.code, corrupt) << "length " << bad;
    EXPECT_NE(thrown.message.find(name.str()), std::string::npos) << thrown.message;
  }
  length = room;  // the largest length that fits is accepted
  EXPECT_EQ(Array<std::uint64_t>::open(name).size(), room);
}

}  // namespace
}  // namespace shmkit
