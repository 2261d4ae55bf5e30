#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "kind_state.hpp"
#include "shmkit/array.hpp"

// A named Array<T>: its head (mutex, length), then the elements at
// max(64, alignof(T)). The length is checked against the object's size, as
// Array<T>::open does; the first elements of a known arithmetic type are shown.

namespace shmkit::cli {
namespace {
constexpr std::uint64_t kShown = 16;
}  // namespace

void describe_array_state(const Segment& segment, Report& section) {
  const TypeFingerprint& type = segment.type();
  const std::string name = type.name_string();
  section.add("element_type", "element type", name, type.describe());
  const auto* head = layout_at<detail::ArrayHead>(segment, section, 0, "an array head");
  if (head == nullptr) return;
  // Immutable once published; read once and checked.
  const std::uint64_t length = head->length;
  section.add("length", "length", length);
  if (type.size == 0 || !valid_alignment(type.align)) {
    add_problem(section, "invalid element size/alignment " + std::to_string(type.size) + "/" +
                             std::to_string(type.align));
    return;
  }
  const std::uint64_t offset = std::max<std::uint64_t>(detail::kCacheLine, type.align);
  const std::span<const std::byte> data = segment.data();
  const std::uint64_t room = offset > data.size() ? 0 : (data.size() - offset) / type.size;
  if (length > room) {
    add_problem(section, "length " + std::to_string(length) + " exceeds its " +
                             std::to_string(room) + "-element area");
    return;
  }
  if (length == 0) add_problem(section, "length 0 (an array is created with at least 1)");
  if (is_arithmetic_type(type) && length > 0) {
    Json first = Json::array();
    std::string text;
    for (std::uint64_t i = 0; i < std::min(length, kShown); ++i) {
      const Json value = element_value(name, data.subspan(offset + i * type.size, type.size));
      text += (i == 0 ? "" : ", ") + value.dump();
      first.push_back(value);
    }
    if (length > kShown) text += ", ...";
    section.add("first", length > kShown ? "first 16" : "elements", std::move(first), text);
  }
  describe_mutex(head->mutex, section.add_section("lock", "lock"));
}

}  // namespace shmkit::cli
