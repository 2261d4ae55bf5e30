#include <string>

#include "kind_state.hpp"
#include "shmkit/sync/barrier_state.hpp"

// A named Barrier: parties, arrivals in this generation, the generation count
// and whether it is broken.

namespace shmkit::cli {

void describe_barrier_state(const Segment& segment, Report& section) {
  const auto* state = layout_at<sync::BarrierState>(segment, section, 0, "a barrier");
  if (state == nullptr) return;
  const std::uint32_t parties = state->parties;
  // relaxed: a snapshot.
  const std::uint32_t arrived = state->arrived.load(std::memory_order_relaxed);
  const std::uint32_t generation = state->generation.load(std::memory_order_relaxed);
  const std::uint32_t waiters = state->waiters.load(std::memory_order_relaxed);
  const bool broken = (generation & sync::kBarrierBroken) != 0;
  section.add("parties", "parties", parties);
  section.add(
      "arrived", "arrived", arrived,
      std::to_string(arrived) + " (in this generation, of " + std::to_string(parties) + ")");
  section.add("generation", "generation", generation & ~sync::kBarrierBroken);
  section.add("broken", "broken", broken,
              broken ? "yes (a party timed out or aborted; reset() repairs it)" : "no");
  section.add("waiters", "waiters", waiters);
  if (parties == 0 || parties > 0x7fffffffU) {
    add_problem(section, "invalid party count " + std::to_string(parties));
  } else if (arrived > parties) {
    add_problem(section, "more parties arrived (" + std::to_string(arrived) + ") than it has (" +
                             std::to_string(parties) + ")");
  }
}

}  // namespace shmkit::cli
