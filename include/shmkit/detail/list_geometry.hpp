#pragma once

#include <bit>
#include <cstdint>
#include <string>

#include "shmkit/detail/list_layout.hpp"

// The immutable part of a list's head (detail/list_layout.hpp), copied once
// and checked: what the library's ListCore and the CLI's `stat` accept. Each
// field is read once, because a corrupted or hostile peer may rewrite the
// shared head at any time: what is checked is what is then used.

namespace shmkit::detail {

// Index chunk k holds E0 << k entries of 8 bytes: with E0 at most this, that
// size fits in 64 bits for every k < kListMaxChunks (2^20 << 39 << 3 = 2^62).
inline constexpr std::uint64_t kListMaxIndex0Entries = std::uint64_t{1} << 20;
static_assert(kListMaxChunks - 1 + 20 + 3 < 64);
inline constexpr std::uint64_t kListMaxData0Bytes = std::uint64_t{1} << 32;

struct ListGeometry {
  std::uint32_t element_size = 0;
  std::uint32_t element_align = 0;
  std::uint64_t index0_entries = 0;
  std::uint64_t data0_bytes = 0;
  std::uint64_t index0_offset = 0;
  std::uint64_t data0_offset = 0;

  static ListGeometry read(const ListHead& h) noexcept {
    return {once(h.element_size),      once(h.element_align), once(h.index_chunk0_entries),
            once(h.data_chunk0_bytes), once(h.index0_offset), once(h.data0_offset)};
  }

  // Empty if a list may use these in a data area of `area` bytes, else what
  // is wrong. Each bound is checked before a later one relies on it, so no
  // sum wraps: index0_entries * 8 is at most 2^23, both offsets lie in the area.
  [[nodiscard]] std::string problem(std::uint64_t area) const {
    if (element_align == 0 || element_align > kCacheLine || !std::has_single_bit(element_align)) {
      return "invalid element alignment " + std::to_string(element_align);
    }
    const bool entries_ok =
        std::has_single_bit(index0_entries) && index0_entries <= kListMaxIndex0Entries;
    const bool data_ok = data0_bytes >= 64 && data0_bytes <= kListMaxData0Bytes;
    const bool offsets_ok = index0_offset >= sizeof(ListHead) && index0_offset % kCacheLine == 0 &&
                            index0_offset <= area && index0_entries * 8 <= area - index0_offset &&
                            data0_offset >= index0_offset + index0_entries * 8 &&
                            data0_offset % kCacheLine == 0 && data0_offset <= area &&
                            data0_bytes <= area - data0_offset;
    if (!entries_ok || !data_ok || !offsets_ok) return "invalid list head (chunk 0 sizes/offsets)";
    return {};
  }

 private:
  template <class T>
  static T once(const T& field) noexcept {
    return *static_cast<const volatile T*>(&field);
  }
};

}  // namespace shmkit::detail
