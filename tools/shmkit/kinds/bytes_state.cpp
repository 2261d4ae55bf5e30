#include <string>

#include "kind_state.hpp"

// A raw-bytes object (SharedMemory) has no state of its own beyond its size:
// shmkit synchronises nothing inside the bytes.

namespace shmkit::cli {

void describe_bytes_state(const Segment& segment, Report& section) {
  const std::uint64_t size = segment.header().data_size;
  section.add("size", "size", size,
              std::to_string(size) + " bytes at offset " +
                  std::to_string(segment.header().data_offset) + " (unsynchronised)");
}

}  // namespace shmkit::cli
