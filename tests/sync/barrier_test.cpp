#include "shmkit/sync/barrier.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/array.hpp"
#include "shmkit/platform/thread_identity.hpp"
#include "sync_test_util.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using sync::BarrierResult;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

bool passed(BarrierResult r) { return r == BarrierResult::passed || r == BarrierResult::last; }

TEST(Barrier, OnePartyPassesAloneAndIsAlwaysLast) {
  const test::ScopedName name("bar");
  Barrier barrier = Barrier::create(name, 1);
  EXPECT_EQ(barrier.parties(), 1u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(barrier.wait(), BarrierResult::last);
  EXPECT_EQ(barrier.wait_for(0ms), BarrierResult::last);
  EXPECT_FALSE(barrier.broken());
}

TEST(Barrier, WaitForTimesOutAndBreaksItUntilReset) {
  const test::ScopedName name("bar");
  Barrier barrier = Barrier::create(name, 2);
  EXPECT_EQ(barrier.wait_for(10ms), BarrierResult::timed_out);
  EXPECT_TRUE(barrier.broken());
  EXPECT_EQ(barrier.wait_for(test::kGenerous), BarrierResult::broken);  // at once
  EXPECT_EQ(barrier.wait(), BarrierResult::broken);
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.wait_for(0ms), BarrierResult::timed_out);
  barrier.reset();
  barrier.abort();
  EXPECT_TRUE(barrier.broken());
  EXPECT_EQ(barrier.wait(), BarrierResult::broken);
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.state().waiters.load(), 0u);
}

TEST(Barrier, CreateRefusesZeroPartiesAndOpenRefusesACorruptCount) {
  const test::ScopedName name("bar");
  EXPECT_EQ(test::thrown_by([&] { Barrier::create(name, 0); }).code,
            std::make_error_code(std::errc::invalid_argument));
  {
    const Barrier barrier = Barrier::create(name, 3);
    EXPECT_EQ(Barrier::open(name).parties(), 3u);
    barrier.state().parties = 0;  // what a buggy or hostile process could write
  }
  EXPECT_EQ(test::thrown_by([&] { Barrier::open(name); }).code, make_error_code(Errc::corrupt));
  const test::ScopedName other("ev");
  const SharedMemory bytes = SharedMemory::create(other, 16);
  EXPECT_EQ(test::thrown_by([&] { Barrier::open(other); }).code, make_error_code(Errc::wrong_kind));
}

TEST(Barrier, APartyCountOverwrittenAfterOpenDoesNotLetAWaitPass) {
  const test::ScopedName name("bar");
  Barrier barrier = Barrier::create(name, 2);
  barrier.state().parties = 1;  // a buggy or hostile process, after we opened it
  EXPECT_EQ(barrier.parties(), 2u);
  EXPECT_EQ(barrier.wait_for(1ms), BarrierResult::timed_out);  // not `last` on its own
  barrier.reset();
  barrier.state().parties = 2;
  EXPECT_EQ(Barrier::open(name).parties(), 2u);
}

// Each party writes generation g+1 into its slot, then waits. Once past, every
// slot must hold g+1 (or g+2, if that party already started the next round):
// no party passed before every party wrote. The one `last` of each generation
// counts itself in lasts[g].
template <class Slots, class Lasts>
std::string run_party(Barrier& barrier, Slots& slots, Lasts& lasts, std::size_t me,
                      std::uint64_t generations) {
  const std::size_t parties = slots.size();
  for (std::uint64_t g = 0; g < generations; ++g) {
    slots.store(me, g + 1);
    const BarrierResult r = barrier.wait_for(test::kGenerous);
    if (!passed(r)) return "generation " + std::to_string(g) + ": not passed";
    if (r == BarrierResult::last) lasts.fetch_add(static_cast<std::size_t>(g), 1);
    for (std::size_t q = 0; q < parties; ++q) {
      const std::uint64_t v = slots.load(q);
      if (v != g + 1 && v != g + 2) {
        return "generation " + std::to_string(g) + ": party " + std::to_string(q) +
               " had not arrived (slot " + std::to_string(v) + ")";
      }
    }
  }
  return {};
}

void expect_one_last_per_generation(const Array<std::uint32_t>& lasts) {
  std::size_t exactly_one = 0;
  for (std::size_t g = 0; g < lasts.size(); ++g) exactly_one += lasts.load(g) == 1 ? 1 : 0;
  EXPECT_EQ(exactly_one, lasts.size());
}

TEST(Barrier, FourProcessesPassAThousandGenerationsInStep) {
  constexpr std::uint32_t kParties = 4;
  constexpr std::uint64_t kGenerations = 1000;
  const test::ScopedName name("bar");
  const test::ScopedName slots_name("slots");
  const test::ScopedName lasts_name("lasts");
  const Barrier barrier = Barrier::create(name, kParties);
  const auto slots = Array<std::uint64_t>::create(slots_name, kParties);
  const auto lasts = Array<std::uint32_t>::create(lasts_name, kGenerations);
  std::vector<pid_t> pids;
  for (std::size_t p = 0; p < kParties; ++p) {
    pids.push_back(test::fork_child([&, p] {
      Barrier b = Barrier::open(name);
      auto s = Array<std::uint64_t>::open(slots_name);
      auto l = Array<std::uint32_t>::open(lasts_name);
      const std::string failure = run_party(b, s, l, p, kGenerations);
      test::require(failure.empty(), failure);
    }));
  }
  ASSERT_TRUE(test::all_exit_zero(pids));
  expect_one_last_per_generation(lasts);
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.state().arrived.load(), 0u);
  EXPECT_EQ(barrier.state().generation.load(), kGenerations);
}

TEST(Barrier, FourThreadsOfOneMappingPassEveryGenerationInStep) {
  constexpr std::uint32_t kParties = 4;
  const auto generations = static_cast<std::uint64_t>(test::scaled(1000));
  const test::ScopedName name("bar");
  const test::ScopedName slots_name("slots");
  const test::ScopedName lasts_name("lasts");
  Barrier barrier = Barrier::create(name, kParties);
  auto slots = Array<std::uint64_t>::create(slots_name, kParties);
  auto lasts = Array<std::uint32_t>::create(lasts_name, generations);
  std::vector<std::string> failures(kParties);
  test::run_threads(kParties, [&](int t) {
    const auto me = static_cast<std::size_t>(t);
    failures[me] = run_party(barrier, slots, lasts, me, generations);
  });
  for (const auto& f : failures) EXPECT_EQ(f, "");
  expect_one_last_per_generation(lasts);
}

TEST(Barrier, AWaitForTimeoutBreaksItForTheProcessesWaitingAndResetRepairsIt) {
  const test::ScopedName name("bar");
  Barrier barrier = Barrier::create(name, 3);
  const test::Pipe broken_seen;
  const test::Pipe repaired;
  const test::ScopedName results_name("res");
  auto results = Array<std::uint32_t>::create(results_name, 2);
  // Generation 1: one child and the parent arrive (2 of 3); the parent times
  // out. Generation 2, after reset(): both children and the parent pass.
  const pid_t first = test::fork_child([&] {
    Barrier b = Barrier::open(name);
    test::require(b.wait_for(test::kGenerous) == BarrierResult::broken, "not broken");
    broken_seen.send();
    test::require(repaired.receive(), "never repaired");
    const BarrierResult r = b.wait_for(test::kGenerous);
    test::require(passed(r), "not passed after reset");
    auto res = Array<std::uint32_t>::open(results_name);
    if (r == BarrierResult::last) res.fetch_add(0, 1);
  });
  ASSERT_TRUE(test::wait_until_asleep(barrier.state().waiters, 1, {first}));
  EXPECT_EQ(barrier.wait_for(10ms), BarrierResult::timed_out);
  ASSERT_TRUE(broken_seen.receive());
  EXPECT_TRUE(barrier.broken());
  EXPECT_EQ(barrier.wait_for(test::kGenerous), BarrierResult::broken);  // later arrivals too
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  repaired.send();
  const pid_t second = test::fork_child([&] {
    Barrier b = Barrier::open(name);
    const BarrierResult r = b.wait_for(test::kGenerous);
    test::require(passed(r), "not passed after reset");
    auto res = Array<std::uint32_t>::open(results_name);
    if (r == BarrierResult::last) res.fetch_add(0, 1);
  });
  const BarrierResult mine = barrier.wait_for(test::kGenerous);
  EXPECT_TRUE(passed(mine));
  if (mine == BarrierResult::last) results.fetch_add(0, 1);
  EXPECT_EQ(test::wait_exit_code(first), 0);
  EXPECT_EQ(test::wait_exit_code(second), 0);
  EXPECT_EQ(results.load(0), 1u);  // exactly one last
  EXPECT_FALSE(barrier.broken());
}

TEST(Barrier, AbortWakesEveryThreadWaitingWithBroken) {
  constexpr int kThreads = 3;
  const test::ScopedName name("bar");
  Barrier barrier = Barrier::create(name, kThreads + 1);
  std::atomic<int> broken{0};
  std::vector<std::atomic<pid_t>> tids(kThreads);
  std::thread breaker([&] {
    std::vector<pid_t> ids;
    for (auto& t : tids) {
      while (t.load() == 0) std::this_thread::yield();
      ids.push_back(t.load());
    }
    test::wait_until_asleep(barrier.state().waiters, kThreads, ids);
    barrier.abort();
  });
  test::run_threads(kThreads, [&](int i) {
    tids[static_cast<std::size_t>(i)].store(platform::current_tid());
    if (barrier.wait_for(test::kGenerous) == BarrierResult::broken) broken.fetch_add(1);
  });
  breaker.join();
  EXPECT_EQ(broken.load(), kThreads);
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
}

}  // namespace
}  // namespace shmkit
