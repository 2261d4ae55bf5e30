#include "shmkit/detail/attach_table.hpp"

namespace shmkit::detail {

int attach_process(SegmentHeader& header, ProcessIdentity me) noexcept {
  const std::uint64_t word = me.pack();
  // Pass 1 takes a free entry; pass 2 reclaims the entry of a dead process,
  // or takes one freed since pass 1 looked at it (else a table that was never
  // full at any one moment could still turn us away).
  // Cases for each CAS: (a) it succeeds: the entry is ours; (b) another
  // process claimed or reclaimed it first: move on to the next entry.
  // relaxed: the table guards no other data; an entry only names a process.
  for (std::size_t i = 0; i < header.attached.size(); ++i) {
    std::uint64_t expected = 0;
    if (header.attached[i].compare_exchange_strong(expected, word, std::memory_order_relaxed)) {
      return static_cast<int>(i);
    }
  }
  for (std::size_t i = 0; i < header.attached.size(); ++i) {
    std::uint64_t current = header.attached[i].load(std::memory_order_relaxed);
    if (current != 0 && is_alive(ProcessIdentity::unpack(current))) continue;
    if (header.attached[i].compare_exchange_strong(current, word, std::memory_order_relaxed)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

void detach_process(SegmentHeader& header, int slot, std::uint64_t word) noexcept {
  if (slot < 0 || static_cast<std::size_t>(slot) >= header.attached.size()) return;
  // Only our own entry: another process may have reclaimed it if it wrongly
  // took us for dead, and then it is no longer ours to clear.
  // release pairs with the acquire load of attached[0] in Segment::open():
  // a creator that releases its entry has published `ready` before.
  std::uint64_t expected = word;
  header.attached[static_cast<std::size_t>(slot)].compare_exchange_strong(
      expected, 0, std::memory_order_release, std::memory_order_relaxed);
}

std::vector<ProcessStatus> attached_processes(const SegmentHeader& header) {
  std::vector<ProcessStatus> result;
  for (const auto& entry : header.attached) {
    const std::uint64_t word = entry.load(std::memory_order_relaxed);
    if (word == 0) continue;
    const ProcessIdentity who = ProcessIdentity::unpack(word);
    result.push_back({who, is_alive(who)});
  }
  return result;
}

}  // namespace shmkit::detail
