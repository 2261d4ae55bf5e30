#include <string>

#include "kind_state.hpp"
#include "shmkit/sync/event_state.hpp"

// A named Event: set or clear, how many times it was set, and its waiters.

namespace shmkit::cli {

void describe_event_state(const Segment& segment, Report& section) {
  const auto* state = layout_at<sync::EventState>(segment, section, 0, "an event");
  if (state == nullptr) return;
  // relaxed: a snapshot.
  const std::uint32_t flag = state->flag.load(std::memory_order_relaxed);
  const std::uint32_t waiters = state->waiting();
  const bool set = (flag & sync::kEventSet) != 0;
  section.add("set", "state", set, set ? "set" : "clear");
  const std::uint32_t sets = (flag & sync::kEventSetCount) >> 1;
  section.add("sets", "times set", sets,
              std::to_string(sets) + " (clear-to-set transitions, wrapping)");
  section.add("waiters", "waiters", waiters);
}

}  // namespace shmkit::cli
