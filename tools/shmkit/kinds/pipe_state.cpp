#include <bit>
#include <cstdint>
#include <string>

#include "kind_state.hpp"
#include "shmkit/detail/pipe_layout.hpp"
#include "shmkit/platform/process.hpp"

// A Pipe: its head (detail/pipe_layout.hpp), then two rings of slots, ring r
// carrying end r -> end 1-r. Each end is held by a process (or free); the
// messages queued in a direction are the committed slots from its consumer's
// position on.

namespace shmkit::cli {
namespace {

constexpr std::uint32_t kMaxSlots = detail::kQueueMaxSlots;
constexpr std::uint32_t kMaxMessage = detail::kQueueMaxMessage;

// The checks Pipe applies to the immutable head when it opens a pipe.
bool head_ok(const detail::PipeHead& h, std::uint64_t area) {
  const std::uint64_t slot_size = detail::pipe_slot_size_for(h.max_message);
  if (h.slot_count < 2 || h.slot_count > kMaxSlots || !std::has_single_bit(h.slot_count) ||
      h.max_message == 0 || h.max_message > kMaxMessage || h.slot_size != slot_size) {
    return false;
  }
  for (const std::uint64_t offset : h.ring_offset) {
    if (offset < sizeof(detail::PipeHead) || offset % detail::kCacheLine != 0 || offset > area ||
        (area - offset) / h.slot_size < h.slot_count) {
      return false;
    }
  }
  return true;
}

// Messages committed and not yet received in ring `r`: the run of committed
// slots from the consumer's position (which it publishes after each message).
std::uint64_t queued(const detail::PipeHead& h, const std::byte* area, int r) {
  const auto slot_seq = [&](std::uint64_t pos) {
    const std::byte* at = area + h.ring_offset[r] + (pos & (h.slot_count - 1)) * h.slot_size;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): mapped shared layout
    return reinterpret_cast<const detail::QueueSlot*>(at)->seq.load(std::memory_order_acquire);
  };
  const std::uint64_t pos = h.control[r].head.load(std::memory_order_acquire);
  std::uint64_t n = 0;
  while (n < h.slot_count && slot_seq(pos + n) == pos + n + 1) ++n;
  return n;
}

void add_end(const detail::PipeEnd& end, int e, Report& section) {
  Report& out = section.add_section("end" + std::to_string(e), "end " + std::to_string(e));
  // Snapshots.
  const std::uint64_t who = end.who.load(std::memory_order_acquire);
  const bool closed = end.closed.load(std::memory_order_acquire) != 0;
  if (who == 0) {
    out.add("holder", "holder", nullptr, "free");
  } else {
    out.add("holder", "holder", identity_json(who, "pid"),
            identity_text(who, "pid") +
                (is_alive(ProcessIdentity::unpack(who)) ? "" : " (a later open takes it over)"));
  }
  out.add("closed", "closed", closed, closed ? "yes" : "no");
}

}  // namespace

void describe_pipe_state(const Segment& segment, Report& section) {
  const auto* head = layout_at<detail::PipeHead>(segment, section, 0, "a pipe head");
  if (head == nullptr) return;
  if (!head_ok(*head, segment.data().size())) {
    add_problem(section, "invalid pipe head (slot count " + std::to_string(head->slot_count) +
                             ", max message " + std::to_string(head->max_message) + ")");
    return;
  }
  section.add("capacity", "capacity", head->slot_count,
              std::to_string(head->slot_count) + " messages each way");
  section.add("max_message", "max message", head->max_message,
              std::to_string(head->max_message) + " bytes");
  add_end(head->ends[0], 0, section);
  add_end(head->ends[1], 1, section);
  const std::byte* area = segment.data().data();
  const std::uint64_t forward = queued(*head, area, 0);
  const std::uint64_t backward = queued(*head, area, 1);
  section.add(
      "queued", "queued", Json{{"end0_to_end1", forward}, {"end1_to_end0", backward}},
      std::to_string(forward) + " end 0 -> end 1, " + std::to_string(backward) + " end 1 -> end 0");
}

}  // namespace shmkit::cli
