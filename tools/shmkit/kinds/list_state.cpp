#include <bit>
#include <span>
#include <string>

#include "kind_state.hpp"
#include "shmkit/detail/list_geometry.hpp"
#include "shmkit/detail/list_layout.hpp"

// A List: its head (detail/list_layout.hpp) at the start of the data area.
// Chunk 0 of the index and of the data lie in this object; chunks k >= 1 are
// objects of their own, NAME.i<k> and NAME.d<k> (kind list-chunk).

namespace shmkit::cli {
namespace {

// The checks ListCore applies to the immutable head when it opens a list;
// empty if it passes, else what is wrong.
std::string head_problem(const detail::ListHead& h, const TypeFingerprint& type,
                         std::uint64_t area) {
  const detail::ListGeometry g = detail::ListGeometry::read(h);
  if (g.element_size == 0 ? type.name_string() != "string" : g.element_size != type.size) {
    return "its element size " + std::to_string(g.element_size) + " disagrees with its type " +
           type.describe();
  }
  return g.problem(area);
}

// Entries of index chunks 0..n-1: E0 + 2 E0 + ... = E0 (2^n - 1), saturated.
std::uint64_t index_capacity(std::uint64_t e0, std::uint32_t n) {
  if (std::bit_width(e0) + n > 63) return ~std::uint64_t{0};
  return (e0 << n) - e0;
}

}  // namespace

void describe_list_state(const Segment& segment, Report& section) {
  const auto* head = layout_at<detail::ListHead>(segment, section, 0, "a list head");
  if (head == nullptr) return;
  const TypeFingerprint& type = segment.type();
  const bool strings = head->element_size == 0;
  section.add("element_type", "element type", strings ? "string" : type.name_string(),
              strings ? "string (variable-length items)" : type.describe());
  if (const std::string problem = head_problem(*head, type, segment.data().size());
      !problem.empty()) {
    add_problem(section, problem);
    return;
  }
  // Snapshots. acquire on size as a reader's; the others are relaxed counters.
  const std::uint64_t length = head->size.load(std::memory_order_acquire);
  const std::uint64_t bytes = head->bytes_in_use.load(std::memory_order_relaxed);
  const bool closed = head->closed.load(std::memory_order_acquire) != 0;
  const std::uint32_t index_chunks = head->index_chunks.load(std::memory_order_relaxed);
  const std::uint32_t data_chunks = head->data_chunks.load(std::memory_order_relaxed);
  const auto waiters = static_cast<std::uint32_t>(head->waiters.load(std::memory_order_relaxed) &
                                                  detail::kListWaiterCount);
  section.add("length", "length", length, std::to_string(length) + " items");
  section.add("bytes_in_use", "bytes in use", bytes,
              std::to_string(bytes) + " (records and index entries)");
  section.add("closed", "closed", closed,
              closed ? "yes (no more appends; waiters are woken)" : "no");
  section.add("chunks", "chunks", Json{{"index", index_chunks}, {"data", data_chunks}},
              std::to_string(index_chunks) + " index, " + std::to_string(data_chunks) +
                  " data (chunk 0 of each in this object, the others in objects " + segment.name() +
                  ".i<k> and " + segment.name() + ".d<k>)");
  section.add("waiters", "waiters", waiters,
              std::to_string(waiters) + " (readers asleep in wait_for_size, or about to be)");
  const auto valid_count = [](std::uint32_t n) { return n >= 1 && n <= detail::kListMaxChunks; };
  if (!valid_count(index_chunks) || !valid_count(data_chunks)) {
    add_problem(section, "chunk counts out of range 1.." + std::to_string(detail::kListMaxChunks));
  } else if (length > index_capacity(head->index_chunk0_entries, index_chunks)) {
    add_problem(section, "length " + std::to_string(length) + " exceeds what its " +
                             std::to_string(index_chunks) + " index chunks hold");
  }
  describe_mutex(head->append_lock, section.add_section("append_lock", "append lock"));
}

}  // namespace shmkit::cli
