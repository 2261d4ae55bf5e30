#include <string>

#include "kind_state.hpp"
#include "shmkit/sync/semaphore_state.hpp"

// A named Semaphore: its count and its sleeping acquirers. It has no owner, so
// there is nobody to show as holding a unit.

namespace shmkit::cli {

void describe_semaphore_state(const Segment& segment, Report& section) {
  const auto* state = layout_at<sync::SemaphoreState>(segment, section, 0, "a semaphore");
  if (state == nullptr) return;
  // relaxed: a snapshot.
  const std::uint32_t count = state->count.load(std::memory_order_relaxed);
  const std::uint32_t waiters = state->waiting();
  section.add("count", "count", count, std::to_string(count) + " (units available)");
  section.add("waiters", "waiters", waiters);
  if (count > sync::kSemaphoreMax) {
    add_problem(section, "count " + std::to_string(count) + " exceeds the maximum " +
                             std::to_string(sync::kSemaphoreMax));
  }
}

}  // namespace shmkit::cli
