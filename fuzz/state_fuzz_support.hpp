#pragma once

// What the state fuzzers (channel_, list_ and sync_state_fuzz.cpp) share:
// reading an input as a stream of bytes, the patches they write into an
// object's shared memory, their private directory, and how they fail.

#include <errno.h>   // program_invocation_short_name
#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "shmkit/segment.hpp"

namespace shmkit::fuzz {

// Ends the run with a crash libFuzzer reports, unless `ok`.
inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "%s: violated: %s\n", program_invocation_short_name, what);
  std::abort();
}

// An input, read front to back; zeros once it is used up.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  [[nodiscard]] bool empty() const noexcept { return pos_ >= size_; }
  std::uint8_t byte() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  // `bytes` bytes, little-endian.
  std::uint64_t word(int bytes) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{byte()} << (8 * i);
    return v;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// One patch of an area of `area_size` bytes, read from the input: offset (2
// bytes, modulo the size), width (1 byte: 1, 2, 4 or 8 bytes, cut at the
// area's end), value (8 bytes, of which the low `width` are written).
struct Patch {
  std::size_t offset = 0;
  std::size_t width = 0;
  std::uint64_t value = 0;

  static Patch read(Input& in, std::size_t area_size) noexcept {
    static constexpr std::array<std::size_t, 4> kWidths{1, 2, 4, 8};
    Patch p;
    p.offset = in.word(2) % area_size;
    p.width = std::min(kWidths[in.byte() % kWidths.size()], area_size - p.offset);
    p.value = in.word(8);
    return p;
  }
};

// An object whose data area is restored and patched through a mapping of our
// own (for objects that never replace their files; a list does).
struct MappedTarget {
  std::string name;
  Segment segment;                  // our view of the object
  std::vector<std::byte> pristine;  // its data area as created

  static MappedTarget snapshot(const std::string& name, const std::string& directory) {
    Segment segment = Segment::open(
        name, SegmentOptions{.kind = Kind::bytes, .any_kind = true, .directory = directory});
    const std::span<std::byte> data = segment.data();
    std::vector<std::byte> copy(data.begin(), data.end());
    return MappedTarget{name, std::move(segment), std::move(copy)};
  }

  // The data area as created, then the input's patches: a count (byte % 9),
  // then each Patch.
  void restore_and_patch(Input& in) {
    const std::span<std::byte> area = segment.data();
    std::memcpy(area.data(), pristine.data(), area.size());
    const int patches = in.byte() % 9;
    for (int i = 0; i < patches; ++i) {
      const Patch patch = Patch::read(in, area.size());
      // Little-endian: the value's low bytes.
      std::memcpy(area.data() + patch.offset, &patch.value, patch.width);
    }
  }
};

// A new private directory under the temporary one, for the fuzzer's objects.
inline std::string private_directory() {
  std::string dir = std::filesystem::temp_directory_path() / "shmkit-fuzz-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return dir;
}

}  // namespace shmkit::fuzz
