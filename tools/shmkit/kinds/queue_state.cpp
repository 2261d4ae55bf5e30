#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "kind_state.hpp"
#include "shmkit/detail/queue_layout.hpp"
#include "shmkit/platform/process.hpp"

// A queue (ByteQueue / Queue<T>): its head (detail/queue_layout.hpp), then the
// slots. Depth is tail - head (claimed by producers, not yet by consumers).
// Producers and consumers are the threads registered in its participant
// records: live ones are using it now; a dead one was killed while registered
// (its claims are recovered by the survivors).

namespace shmkit::cli {
namespace {

constexpr std::uint32_t kMaxSlots = std::uint32_t{1} << 24;  // as ByteQueue
constexpr std::uint32_t kMaxMessage = std::uint32_t{64} << 20;

// The checks ByteQueue applies to the immutable head when it opens a queue.
bool head_ok(const detail::QueueHead& h, std::uint64_t area) {
  const std::uint64_t slot_size = detail::slot_size_for(h.max_message);
  return h.slot_count >= 2 && h.slot_count <= kMaxSlots && std::has_single_bit(h.slot_count) &&
         h.max_message != 0 && h.max_message <= kMaxMessage && h.slot_size == slot_size &&
         h.slots_offset >= sizeof(detail::QueueHead) && h.slots_offset % detail::kCacheLine == 0 &&
         h.slots_offset <= area && (area - h.slots_offset) / h.slot_size >= h.slot_count;
}

// The live and dead threads of one role's records, the slots they hold (a
// claim lives as long as its process: detail/queue_layout.hpp), and its
// sleepers (a waiting bit per record).
void add_participants(const detail::QueueParticipant (&records)[detail::kQueueMaxParticipants],
                      const std::string& key, const std::string& label, std::uint64_t waiting,
                      Report& section) {
  Json live = Json::array();
  std::vector<std::string> lines;
  std::size_t dead = 0;
  std::size_t dead_waiting = 0;
  Json holders = Json::array();
  std::vector<std::string> holder_lines;
  for (std::uint32_t i = 0; i < detail::kQueueMaxParticipants; ++i) {
    // relaxed: a snapshot.
    const std::uint64_t who = records[i].who.load(std::memory_order_relaxed);
    const bool bit = (waiting >> i & 1U) != 0;
    const std::uint64_t begin = records[i].pending_begin.load(std::memory_order_relaxed);
    const std::uint64_t end = records[i].pending_end.load(std::memory_order_relaxed);
    const std::uint64_t process = records[i].process.load(std::memory_order_relaxed);
    if (who != 0 && process != 0 && begin != end && is_alive(ProcessIdentity::unpack(process))) {
      // A Reservation or Message not finished (or a claim under way).
      holders.push_back(identity_json(process, "pid"));
      holder_lines.push_back(identity_text(process, "pid") + ", " + std::to_string(end - begin) +
                             " slot" + (end - begin == 1 ? "" : "s") + " from position " +
                             std::to_string(begin));
    }
    if (who == 0 || !is_alive(ProcessIdentity::unpack(who))) {
      if (bit) ++dead_waiting;
      if (who != 0) ++dead;
      continue;
    }
    live.push_back(identity_json(who, "tid"));
    lines.push_back(identity_text(who, "tid"));
  }
  const std::size_t count = live.size();
  section.add_list(key, label, std::move(live),
                   std::to_string(count) + " live thread" + (count == 1 ? "" : "s"),
                   std::move(lines));
  section.add(key + "_dead", label + " dead", dead,
              std::to_string(dead) +
                  " (records of threads that ended or were killed; new threads reuse them)");
  const std::size_t holding = holders.size();
  section.add_list(key + "_holding", label + " holding", std::move(holders),
                   std::to_string(holding) +
                       " (slots claimed, not yet finished: a Reservation or Message held by a "
                       "live process, whose thread may have ended)",
                   std::move(holder_lines));
  const auto sleepers = static_cast<std::uint32_t>(std::popcount(waiting));
  section.add(key + "_waiting", label + " waiting", sleepers,
              std::to_string(sleepers) + " (asleep or about to sleep" +
                  (dead_waiting == 0 ? std::string(")")
                                     : "; " + std::to_string(dead_waiting) +
                                           " died asleep: dropped at the next wake-up)"));
}

}  // namespace

void describe_queue_state(const Segment& segment, Report& section) {
  const auto* head = layout_at<detail::QueueHead>(segment, section, 0, "a queue head");
  if (head == nullptr) return;
  if (!head_ok(*head, segment.data().size())) {
    add_problem(section, "invalid queue head (slot count " + std::to_string(head->slot_count) +
                             ", max message " + std::to_string(head->max_message) + ")");
    return;
  }
  const std::uint32_t capacity = head->slot_count;
  // Snapshots: nothing is read on the strength of them.
  // head first: it never passes tail, so a tail read after it is not behind it.
  const std::uint64_t front = head->head.load(std::memory_order_acquire);
  const std::uint64_t tail = head->tail.load(std::memory_order_acquire);
  const auto distance = static_cast<std::int64_t>(tail - front);
  const std::uint64_t depth =
      distance <= 0 ? 0 : std::min<std::uint64_t>(static_cast<std::uint64_t>(distance), capacity);
  const bool closed = head->closed.load(std::memory_order_acquire) != 0;
  section.add("depth", "depth", depth, std::to_string(depth) + " messages");
  section.add("capacity", "capacity", capacity, std::to_string(capacity) + " messages");
  section.add("max_message", "max message", head->max_message,
              std::to_string(head->max_message) + " bytes");
  section.add("closed", "closed", closed,
              closed ? "yes (producers get 'closed'; consumers drain what is left)" : "no");
  add_participants(head->producers, "producers", "producers",
                   head->producers_waiting.load(std::memory_order_relaxed), section);
  add_participants(head->consumers, "consumers", "consumers",
                   head->consumers_waiting.load(std::memory_order_relaxed), section);
  if (distance < 0) {
    add_problem(section, "its consumer index " + std::to_string(front) +
                             " is past its producer index " + std::to_string(tail));
  }
}

}  // namespace shmkit::cli
