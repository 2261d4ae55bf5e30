#include <optional>
#include <string>

#include "kind_state.hpp"
#include "list_chunks.hpp"

// A further index or data chunk of a List, NAME.i<k> or NAME.d<k>: raw storage
// that the list's readers map on demand. Its own state is its list's.

namespace shmkit::cli {

void describe_list_chunk_state(const Segment& segment, Report& section) {
  const std::uint64_t size = segment.header().data_size;
  const std::optional<ChunkName> chunk = parse_chunk_name(segment.name());
  if (!chunk) {
    section.add("size", "size", size, std::to_string(size) + " bytes");
    add_problem(section, "not named like a list chunk (LIST.i<k> or LIST.d<k>, 1 <= k < 40)");
    return;
  }
  const bool exists = object_exists(chunk->list, segment.directory());
  section.add("list", "list", chunk->list,
              chunk->list + (exists ? "" : " (not found: an orphan chunk)"));
  section.add("list_exists", "list exists", exists, exists ? "yes" : "no");
  section.add("log", "log", chunk->log == 'i' ? "index" : "data",
              chunk->log == 'i' ? "index (8-byte entries)" : "data (item records)");
  section.add("chunk", "chunk", chunk->k);
  section.add("size", "size", size,
              std::to_string(size) + " bytes" +
                  (exists ? "; 'shmkit stat " + chunk->list + "' shows the list"
                          : "; nothing maps it again: 'shmkit rm --stale' removes it"));
}

}  // namespace shmkit::cli
