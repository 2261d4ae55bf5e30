#pragma once

#include <cstdint>
#include <vector>

#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/platform/process.hpp"

// The table of attached processes in every segment header. Lock-free: each
// entry is one packed ProcessIdentity, claimed and released with CAS, so a
// process killed at any instruction leaves either its full entry (dead, hence
// reclaimable) or none. Thread-safe.

namespace shmkit::detail {

// Claims an entry for `me`: a free one, else one whose process is dead.
// Returns its index, or -1 if every entry belongs to a live process.
int attach_process(SegmentHeader& header, ProcessIdentity me) noexcept;

// Releases entry `slot` if it still holds `word` (our packed identity).
void detach_process(SegmentHeader& header, int slot, std::uint64_t word) noexcept;

// The occupied entries as they are now.
std::vector<ProcessStatus> attached_processes(const SegmentHeader& header);

}  // namespace shmkit::detail
