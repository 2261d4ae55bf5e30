#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "shmkit/platform/process.hpp"
#include "shmkit/segment.hpp"

// Looking at objects without touching them, for ls, stat and rm --stale:
// objects are opened read-only and not attached, and an object that cannot be
// opened is described rather than reported as a failure. Not thread-safe.

namespace shmkit::cli {

// How inspecting commands open objects: any kind, read-only, no attach, and a
// short wait for an object that is still being created.
SegmentOptions inspect_options(const std::string& directory);

// Whether `attached` makes an object stale: at least one entry whose process
// is dead, and none alive. An object with no entries (every process closed it
// cleanly) is not stale: it is kept on purpose.
bool attachers_all_dead(const std::vector<ProcessStatus>& attached);

struct ObjectInfo {
  std::string name;
  std::string path;
  // Open (read-only, not attached) if the header validated.
  std::optional<Segment> segment;
  // Otherwise: why not, as a code and as the library's one-line message.
  std::error_code error;
  std::string problem;
  // Its creator has not published it: still creating it, or died doing so.
  bool initialising = false;
  // The creator recorded by an object stuck initialising.
  std::optional<ProcessIdentity> initialising_creator;
  // The attach table (valid objects only).
  std::vector<ProcessStatus> attached;
  // Not ready, naming no creator, and unwritten for kAbandonedAfter: its
  // creator was killed before it recorded itself.
  bool abandoned = false;
  // What `shmkit rm --stale` removes: a valid object whose attached processes
  // are all dead (attachers_all_dead), a list chunk whose list is gone
  // (is_orphan_chunk), one stuck initialising whose creator died, or an
  // abandoned one.
  bool stale = false;
  // From the file itself, for objects that could not be opened.
  std::optional<std::uint64_t> file_size;
  std::optional<std::uint32_t> file_mode;
  std::optional<std::chrono::seconds> unwritten_for;  // since its last write
};

// A valid list chunk (NAME.i<k>, NAME.d<k>) whose list NAME does not exist:
// nothing will ever map it again.
bool is_orphan_chunk(const ObjectInfo& info);

// How long a file that is not ready and names no creator must have been left
// unwritten to count as abandoned.
inline constexpr std::chrono::seconds kAbandonedAfter{60};

// Inspects the object NAME in `directory`; never throws for a problem with the
// object itself (that goes into `error` and `problem`).
ObjectInfo inspect(const std::string& name, const std::string& directory);

}  // namespace shmkit::cli
