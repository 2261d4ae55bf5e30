#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "shmkit/segment.hpp"

// SharedMemory: a named block of N raw bytes, the counterpart of Python's
// multiprocessing.shared_memory.SharedMemory. The bytes start at a page-aligned
// offset (4096) of the file /dev/shm/shmkit.NAME, so another program can map
// the file and find them there. Zero-filled at creation.
//
// shmkit synchronises nothing inside the bytes: use a shmkit::Mutex or your own
// atomics. A handle is move-only and owned by one process.

namespace shmkit {

class SharedMemory {
 public:
  // Creates NAME with `size` (>= 1) bytes; Errc::already_exists if present.
  static SharedMemory create(std::string_view name, std::size_t size, SegmentOptions options = {}) {
    options.kind = Kind::bytes;
    options.type = TypeFingerprint::bytes();
    return SharedMemory(Segment::create(name, size, options));
  }

  // Opens an existing NAME; Errc::wrong_kind if it is another kind of object.
  static SharedMemory open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::bytes;
    options.type = TypeFingerprint::bytes();
    return SharedMemory(Segment::open(name, options));
  }

  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return segment_.data(); }
  [[nodiscard]] std::byte* data() const noexcept { return segment_.data().data(); }
  [[nodiscard]] std::size_t size() const noexcept { return segment_.data().size(); }
  [[nodiscard]] const Segment& segment() const noexcept { return segment_; }

 private:
  explicit SharedMemory(Segment segment) noexcept : segment_(std::move(segment)) {}
  Segment segment_;
};

}  // namespace shmkit
