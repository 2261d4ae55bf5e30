#include <algorithm>
#include <span>
#include <string>

#include "kind_state.hpp"
#include "shmkit/value.hpp"

// A named Value<T>: its mutex (held for compound updates), then the value on
// the next cache line (at max(64, alignof(T))). The element type comes from
// the header's fingerprint; a known arithmetic type is printed as a number,
// any other as its bytes in hex.

namespace shmkit::cli {

void describe_value_state(const Segment& segment, Report& section) {
  const TypeFingerprint& type = segment.type();
  const std::string name = type.name_string();
  section.add("element_type", "element type", name, type.describe());
  const auto* mutex = layout_at<sync::MutexState>(segment, section, 0, "a value's mutex");
  if (mutex == nullptr) return;
  if (type.size == 0 || !valid_alignment(type.align)) {
    add_problem(section, "invalid element size/alignment " + std::to_string(type.size) + "/" +
                             std::to_string(type.align));
    return;
  }
  const std::uint64_t offset = std::max<std::uint64_t>(detail::kCacheLine, type.align);
  const std::span<const std::byte> data = segment.data();
  if (offset > data.size() || data.size() - offset < type.size) {
    add_problem(section, "its data area (" + std::to_string(data.size()) +
                             " bytes) is too small for a " + std::to_string(type.size) +
                             "-byte value at offset " + std::to_string(offset));
    return;
  }
  // A snapshot: a value that is not lock-free may be read half-written.
  const std::span<const std::byte> bytes = data.subspan(offset, type.size);
  const Json value = element_value(name, bytes);
  section.add("value", "value", value,
              value.is_null() ? "(" + name + ": see bytes)" : value.dump());
  section.add("bytes", "bytes", hex_bytes(bytes, 256));
  describe_mutex(*mutex, section.add_section("lock", "lock"));
}

}  // namespace shmkit::cli
