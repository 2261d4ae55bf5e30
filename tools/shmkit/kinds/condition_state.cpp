#include <string>

#include "kind_state.hpp"
#include "shmkit/sync/condition.hpp"

// A named Condition: its mutex, then the condition's waiters and sequence
// (bumped by every notify).

namespace shmkit::cli {

void describe_condition_state(const Segment& segment, Report& section) {
  const auto* pair = layout_at<sync::ConditionPair>(segment, section, 0, "a condition");
  if (pair == nullptr) return;
  describe_mutex(pair->mutex, section.add_section("mutex", "mutex"));
  // relaxed: a snapshot.
  const std::uint32_t waiters = pair->condition.waiting();
  const std::uint32_t seq = pair->condition.seq.load(std::memory_order_relaxed);
  section.add("waiters", "waiters", waiters);
  section.add("sequence", "sequence", seq, std::to_string(seq) + " (notifications, wrapping)");
}

}  // namespace shmkit::cli
