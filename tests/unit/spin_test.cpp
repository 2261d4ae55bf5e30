// platform::SpinBudget and BasicChannelSpin: a channel waiter's spin halves
// after a wait that ended long after the longest spin would have, doubles
// after one that a longer spin would have caught, within its bounds, and
// learns nothing from a wait the spin itself ended. Timed by a fake clock
// that the test moves, so no outcome depends on this machine's speed.
#include <chrono>
#include <cstdint>
#include <optional>

#include <gtest/gtest.h>

#include "shmkit/platform/spin.hpp"

namespace shmkit {
namespace {

using platform::kChannelSpinMinPauses;
using platform::kChannelSpinPauses;
using platform::longest_spin_would_catch;
using platform::SpinBudget;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

// A steady clock that moves only when the test says.
struct FakeClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<FakeClock>;
  static inline time_point now_value{};
  static time_point now() noexcept { return now_value; }
  static void advance(duration d) noexcept { now_value += d; }
};

using FakeSpin = platform::BasicChannelSpin<FakeClock>;

// What one wait's spin did.
struct Spun {
  bool ready = false;
  int looks = 0;
};

constexpr nanoseconds kPerLook{100};

// One wait: a spin whose every look takes kPerLook of the fake clock and
// finds the channel ready at look `ready_at` (never if 0); then the wait
// goes on for `after` before it ends (the spin's destructor).
Spun wait_once(SpinBudget& budget, int ready_at, nanoseconds after,
               const platform::Deadline& deadline = std::nullopt) {
  Spun spun;
  FakeSpin spin(budget);
  spun.ready = spin.run(
      [&] {
        FakeClock::advance(kPerLook);
        return ++spun.looks == ready_at;
      },
      deadline);
  FakeClock::advance(after);
  return spun;
}

// A wait that the spin and its yield did not end.
void wait_empty_handed(SpinBudget& budget, nanoseconds after) {
  const Spun spun = wait_once(budget, 0, after);
  ASSERT_FALSE(spun.ready);
}

TEST(SpinBudget, StartsAtTheLongestSpin) {
  const SpinBudget budget;
  EXPECT_EQ(budget.pauses(), kChannelSpinPauses);
}

TEST(SpinBudget, HalvesDownToTheShortestAndDoublesBackUpToTheLongest) {
  SpinBudget budget;
  int expected = kChannelSpinPauses;
  while (expected > kChannelSpinMinPauses) {
    budget.learn(false);
    expected /= 2;
    ASSERT_EQ(budget.pauses(), expected);
  }
  budget.learn(false);
  EXPECT_EQ(budget.pauses(), kChannelSpinMinPauses);
  while (expected < kChannelSpinPauses) {
    budget.learn(true);
    expected *= 2;
    ASSERT_EQ(budget.pauses(), expected);
  }
  budget.learn(true);
  EXPECT_EQ(budget.pauses(), kChannelSpinPauses);
}

TEST(SpinBudget, ACopyKeepsTheLearnedValue) {
  SpinBudget budget;
  budget.learn(false);
  const SpinBudget copy(
      budget);  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test
  EXPECT_EQ(copy.pauses(), kChannelSpinPauses / 2);
  SpinBudget assigned;
  assigned = budget;
  EXPECT_EQ(assigned.pauses(), kChannelSpinPauses / 2);
}

TEST(LongestSpinWouldCatch, ComparesTheWaitWithTheRestOfTheLongestSpin) {
  // 10 ns a pause (1000 ns over 100 pauses); the mark 63 pauses in: the
  // longest spin runs on (2048 - 63) * 10 ns = 19850 ns past the mark.
  const nanoseconds stretch{1000};
  EXPECT_TRUE(longest_spin_would_catch(stretch, 100, nanoseconds{19850}, 63));
  EXPECT_FALSE(longest_spin_would_catch(stretch, 100, nanoseconds{19851}, 63));
  EXPECT_TRUE(longest_spin_would_catch(stretch, 100, nanoseconds{0}, 63));
  // No overflow: a wait of a year after a longest spin (not caught), and a
  // day's wait after a spin stopped for a year, whose pauses then seem that
  // long (caught).
  EXPECT_FALSE(
      longest_spin_would_catch(nanoseconds{20480}, 2048, std::chrono::hours{24 * 365}, 63));
  EXPECT_TRUE(
      longest_spin_would_catch(std::chrono::hours{24 * 365}, 2048, std::chrono::hours{24}, 63));
  // No stretch measured: nothing to compare with.
  EXPECT_FALSE(longest_spin_would_catch(stretch, 0, nanoseconds{0}, 63));
}

TEST(ChannelSpin, AWaitThatEndsLongAfterTheLongestSpinHalvesTheBudget) {
  SpinBudget budget;
  wait_empty_handed(budget, std::chrono::seconds{1});
  EXPECT_EQ(budget.pauses(), kChannelSpinPauses / 2);
  for (int i = 0; i < 10; ++i) wait_empty_handed(budget, std::chrono::seconds{1});
  EXPECT_EQ(budget.pauses(), kChannelSpinMinPauses);
}

TEST(ChannelSpin, AWaitThatALongerSpinWouldHaveCaughtDoublesTheBudget) {
  SpinBudget budget;
  for (int i = 0; i < 10; ++i) wait_empty_handed(budget, std::chrono::seconds{1});
  ASSERT_EQ(budget.pauses(), kChannelSpinMinPauses);
  // Ends right after the short spin: the longest, 16 times as long, would
  // have seen it.
  wait_empty_handed(budget, nanoseconds{0});
  EXPECT_EQ(budget.pauses(), 2 * kChannelSpinMinPauses);
  while (budget.pauses() < kChannelSpinPauses) {
    wait_empty_handed(budget, nanoseconds{0});
  }
  // At the longest, a spin that ends empty-handed was the longest spin: a
  // wait that outlasts it halves the budget, however soon after it ends.
  wait_empty_handed(budget, nanoseconds{0});
  EXPECT_EQ(budget.pauses(), kChannelSpinPauses / 2);
}

TEST(ChannelSpin, AWaitTheSpinEndedTeachesNothing) {
  SpinBudget budget;
  budget.learn(false);
  const int before = budget.pauses();
  // Ready at the first look.
  EXPECT_TRUE(wait_once(budget, 1, std::chrono::seconds{1}).ready);
  EXPECT_EQ(budget.pauses(), before);
  // Ready at the tenth look, past the mark where the spin reads the clock.
  const Spun spun = wait_once(budget, 10, std::chrono::seconds{1});
  EXPECT_TRUE(spun.ready);
  EXPECT_EQ(spun.looks, 10);
  EXPECT_EQ(budget.pauses(), before);
}

TEST(ChannelSpin, AWaitTheYieldEndedTeachesNothing) {
  // A process on the waiter's CPU made it ready while it yielded: the
  // spin's length was not what the wait needed. At 256 pauses, where a
  // lesson either way would show: looks at 0, 1, 3 ... 63, 127, 191, 255
  // pauses, one past the budget, then the twelfth after the yield.
  SpinBudget budget;
  for (int i = 0; i < 3; ++i) budget.learn(false);
  ASSERT_EQ(budget.pauses(), 256);
  const Spun spun = wait_once(budget, 12, std::chrono::seconds{1});
  EXPECT_TRUE(spun.ready);
  EXPECT_EQ(spun.looks, 12);
  EXPECT_EQ(budget.pauses(), 256);
}

TEST(ChannelSpin, NoSpinOnceTheDeadlineHasPassed) {
  SpinBudget budget;
  budget.learn(false);
  const int before = budget.pauses();
  const Spun spun = wait_once(budget, 0, std::chrono::seconds{1},
                              std::chrono::steady_clock::now() - microseconds{1});
  EXPECT_FALSE(spun.ready);
  EXPECT_EQ(spun.looks, 0);
  EXPECT_EQ(budget.pauses(), before);
}

TEST(ChannelSpin, LooksUntilItsBudgetIsSpentThenOnceMoreAfterAYield) {
  // Looks after 0, 1, 3, 7, 15, 31, 63 pauses, then every 64 while under
  // the budget; then one past it, and one after the yield.
  SpinBudget budget;
  for (int i = 0; i < 10; ++i) budget.learn(false);
  ASSERT_EQ(budget.pauses(), kChannelSpinMinPauses);  // 128: looks at 0..63, 127
  EXPECT_EQ(wait_once(budget, 0, nanoseconds{0}).looks, 7 + 1 + 2);
}

}  // namespace
}  // namespace shmkit
