#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "shmkit/detail/header_check.hpp"
#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/error.hpp"
#include "shmkit/kind.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/type_fingerprint.hpp"

// A corpus of broken segment files for the header validator. Each case is a
// whole file built from a valid one by one mutation, with the verdict, code and
// message fragments check_header must give. Used by header_check_test.cpp (also
// through Segment::open) and by fuzz/make_seeds.cpp (the fuzzer's seeds).
// Header-only and free of GoogleTest so that the fuzz build can use it.

namespace shmkit::test {

using Bytes = std::vector<unsigned char>;

// What the opener expects. The values are the fuzz target's selector byte:
// keep them in step with expectation_for() in fuzz/header_check_fuzz.cpp.
enum class Expect : std::uint8_t {
  any = 0,           // tools: any kind, any type
  bytes_kind = 1,    // Kind::bytes, any type
  bytes_object = 2,  // Kind::bytes storing TypeFingerprint::bytes() (SharedMemory)
  int32_object = 3,  // Kind::bytes storing int32
  mutex_kind = 4,    // Kind::mutex, any type
  unknown_kind = 5,  // a kind this build does not know, any type
};
inline constexpr std::uint8_t kExpectCount = 6;

// A kind number no build knows (header_check_test.cpp checks it stays unknown).
inline constexpr std::uint32_t kUnknownKind = 1000;
inline constexpr std::uint64_t kDataSize = 64;
inline constexpr std::uint64_t kFileSize = detail::kDataAlignment + kDataSize;
inline constexpr std::size_t kStateOffset = offsetof(detail::SegmentHeader, state);
inline constexpr std::size_t kCreatorSlotOffset = offsetof(detail::SegmentHeader, attached);
inline constexpr auto kReady = static_cast<std::uint32_t>(detail::SegmentState::ready);
inline constexpr auto kInitialising =
    static_cast<std::uint32_t>(detail::SegmentState::initialising);

inline TypeFingerprint int32_type() { return TypeFingerprint::of<std::int32_t>(); }

inline detail::Expectation expectation(Expect e) {
  detail::Expectation result;
  switch (e) {
    case Expect::any: break;
    case Expect::bytes_kind: result.kind = Kind::bytes; break;
    case Expect::bytes_object:
      result.kind = Kind::bytes;
      result.type = TypeFingerprint::bytes();
      break;
    case Expect::int32_object:
      result.kind = Kind::bytes;
      result.type = int32_type();
      break;
    case Expect::mutex_kind: result.kind = Kind::mutex; break;
    case Expect::unknown_kind: result.kind = static_cast<Kind>(kUnknownKind); break;
  }
  return result;
}

// The fixed header a creator writes (as make_fixed_header in src/segment.cpp;
// segment_layout_test.cpp checks that the two agree).
inline detail::FixedHeader creator_header(std::uint64_t data_size, Kind kind,
                                          const TypeFingerprint& type, std::uint64_t creator,
                                          std::uint64_t created_ns) {
  detail::FixedHeader fixed{};
  fixed.magic = detail::kMagic;
  fixed.layout_version = detail::kLayoutVersion;
  fixed.header_size = sizeof(detail::SegmentHeader);
  fixed.kind = static_cast<std::uint32_t>(kind);
  fixed.attach_capacity = detail::kAttachSlots;
  fixed.data_offset = detail::kDataAlignment;  // sizeof(SegmentHeader) rounded up
  fixed.data_size = data_size;
  fixed.total_size = fixed.data_offset + data_size;
  fixed.creator = creator;
  fixed.created_ns = created_ns;
  fixed.type = type;
  fixed.checksum = detail::header_checksum(fixed);
  return fixed;
}

inline detail::FixedHeader valid_header() {
  return creator_header(kDataSize, Kind::bytes, TypeFingerprint::bytes(),
                        ProcessIdentity{4242, 987654}.pack(), 1'700'000'000'000'000'000);
}

// A file of `file_size` bytes: `fixed`, then the state word, then zeros (cut
// short if the file is smaller than that).
inline Bytes file_image(const detail::FixedHeader& fixed, std::uint32_t state,
                        std::uint64_t file_size = kFileSize) {
  Bytes whole(
      std::max<std::size_t>(static_cast<std::size_t>(file_size), sizeof(detail::SegmentHeader)));
  std::memcpy(whole.data(), &fixed, sizeof fixed);
  std::memcpy(whole.data() + kStateOffset, &state, sizeof state);
  whole.resize(static_cast<std::size_t>(file_size));
  return whole;
}

// What a caller hands check_header for `file`, as the fuzz target builds it:
// the first min(size, sizeof(FixedHeader)) bytes, the state word if present.
struct CheckInput {
  detail::FixedHeader fixed{};
  std::uint32_t state = 0;
  std::uint64_t file_size = 0;
};

inline CheckInput check_input(const unsigned char* data, std::size_t size) {
  CheckInput in;
  if (size > 0) std::memcpy(&in.fixed, data, std::min(size, sizeof(detail::FixedHeader)));
  if (size >= kStateOffset + sizeof(in.state))
    std::memcpy(&in.state, data + kStateOffset, sizeof in.state);
  in.file_size = size;
  return in;
}

inline detail::HeaderCheck check_file(const Bytes& file, Expect e) {
  const CheckInput in = check_input(file.data(), file.size());
  return detail::check_header(in.fixed, in.state, in.file_size, expectation(e));
}

struct BrokenCase {
  std::string name;  // [a-z0-9_]: a test name and an object name
  Bytes file;        // the whole file
  Expect expect = Expect::bytes_object;
  detail::HeaderVerdict verdict = detail::HeaderVerdict::invalid;
  Errc code = Errc::corrupt;         // when invalid
  std::vector<std::string> message;  // fragments the problem must contain
  // Segment::open only: the file's attached[0] (the creator's entry) is set to
  // the opening process, so an initialising file looks like a live creator at
  // work (a timeout) rather than a dead one (corrupt).
  bool live_creator = false;
};

// One mutation of the valid header, checksum recomputed so that only the
// mutation is wrong; state ready, file of `file_size` bytes.
template <class Mutate>
Bytes resealed(Mutate mutate, std::uint64_t file_size = kFileSize) {
  detail::FixedHeader fixed = valid_header();
  mutate(fixed);
  fixed.checksum = detail::header_checksum(fixed);
  return file_image(fixed, kReady, file_size);
}

// One mutation of the valid header, checksum left as it was.
template <class Mutate>
Bytes unsealed(Mutate mutate) {
  detail::FixedHeader fixed = valid_header();
  mutate(fixed);
  return file_image(fixed, kReady);
}

inline Bytes text_file(std::string_view text, std::size_t size) {
  Bytes file(size);
  std::copy_n(text.begin(), std::min(size, text.size()), file.begin());
  return file;
}

inline std::vector<BrokenCase> broken_header_corpus() {
  using detail::FixedHeader;
  using V = detail::HeaderVerdict;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::vector<BrokenCase> c;
  auto add = [&c](std::string name, Bytes file, Expect expect, V verdict, Errc code,
                  std::vector<std::string> message, bool live_creator = false) {
    c.push_back({std::move(name), std::move(file), expect, verdict, code, std::move(message),
                 live_creator});
  };
  const Bytes valid = file_image(valid_header(), kReady);
  auto prefix = [&valid](std::size_t n) {
    return Bytes(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
  };
  auto with_state = [](Bytes file, std::uint32_t state) {
    std::memcpy(file.data() + kStateOffset, &state, sizeof state);
    return file;
  };

  // Controls: the mutations below start from these.
  add("valid_bytes_object", valid, Expect::bytes_object, V::valid, Errc::corrupt, {});
  add("valid_any_kind", valid, Expect::any, V::valid, Errc::corrupt, {});
  add("valid_bytes_kind", valid, Expect::bytes_kind, V::valid, Errc::corrupt, {});
  add("valid_int32_object", resealed([](FixedHeader& f) { f.type = int32_type(); }),
      Expect::int32_object, V::valid, Errc::corrupt, {});

  // Not ready: a creator between O_EXCL open and the release of `ready`.
  add("empty_file", {}, Expect::bytes_object, V::not_ready, Errc::timeout, {"empty"});
  add("all_zero_uninitialised", Bytes(kFileSize), Expect::bytes_object, V::not_ready, Errc::timeout,
      {"not finished initialising", "nothing is written in it yet"});
  add("all_zero_initialising", with_state(Bytes(kFileSize), kInitialising), Expect::bytes_object,
      V::not_ready, Errc::timeout, {"not finished initialising"}, true);
  add("all_zero_initialising_creator_dead", with_state(Bytes(kFileSize), kInitialising),
      Expect::bytes_object, V::not_ready, Errc::timeout, {"not finished initialising"});
  {
    FixedHeader magic_only{};
    magic_only.magic = detail::kMagic;
    add("magic_only_uninitialised", file_image(magic_only, 0), Expect::bytes_object, V::not_ready,
        Errc::timeout, {"not finished initialising"});
    add("magic_only_initialising", file_image(magic_only, kInitialising), Expect::bytes_object,
        V::not_ready, Errc::timeout, {"not finished initialising"}, true);
  }
  add("state_uninitialised", with_state(valid, 0), Expect::bytes_object, V::not_ready,
      Errc::timeout, {"not finished initialising"});
  add("state_initialising", with_state(valid, kInitialising), Expect::bytes_object, V::not_ready,
      Errc::timeout, {"not finished initialising"}, true);

  // Not a shmkit object at all.
  for (std::size_t n = 1; n <= 3; ++n) {
    add("file_of_" + std::to_string(n) + "_bytes", prefix(n), Expect::bytes_object, V::invalid,
        Errc::corrupt, {"not a shmkit object", "(" + std::to_string(n) + " bytes)"});
  }
  add("text_file", text_file("hello world\n", 12), Expect::bytes_object, V::invalid, Errc::corrupt,
      {"not a shmkit object", "magic 0x6c6c6568"});
  add("text_file_padded", text_file("hello world\n", kFileSize), Expect::any, V::invalid,
      Errc::corrupt, {"not a shmkit object", "magic 0x6c6c6568"});
  add("wrong_magic", resealed([](FixedHeader& f) { f.magic = 0xDEADBEEF; }), Expect::any,
      V::invalid, Errc::corrupt, {"not a shmkit object", "magic 0xdeadbeef"});
  add("byte_swapped_magic", resealed([](FixedHeader& f) { f.magic = 0x53484D4B; }), Expect::any,
      V::invalid, Errc::corrupt, {"magic 0x53484d4b"});
  add("all_zero_ready", with_state(Bytes(kFileSize), kReady), Expect::bytes_object, V::invalid,
      Errc::corrupt, {"magic 0x00000000"});
  add("all_zero_short", Bytes(100), Expect::bytes_object, V::invalid, Errc::corrupt,
      {"magic 0x00000000"});

  // Truncated: a valid file cut short.
  for (const std::size_t n :
       std::initializer_list<std::size_t>{4, 8, 64, 119, 120, 123, 124, 128, 639}) {
    add("truncated_to_" + std::to_string(n), prefix(n), Expect::bytes_object, V::invalid,
        Errc::corrupt, {"truncated: " + std::to_string(n) + " bytes", "640-byte header"});
  }
  for (const std::size_t n : std::initializer_list<std::size_t>{640, 4096, 4159}) {
    add("truncated_to_" + std::to_string(n), prefix(n), Expect::bytes_object, V::invalid,
        Errc::corrupt,
        {"records 4160 bytes but the file has " + std::to_string(n) + " (truncated)"});
  }
  {
    Bytes extended = valid;
    extended.resize(8192);
    add("extended_file", extended, Expect::bytes_object, V::invalid, Errc::corrupt,
        {"records 4160 bytes but the file has 8192 (extended)"});
  }
  add("total_size_larger_than_file", resealed([](FixedHeader& f) {
        f.total_size = 8256;
        f.data_size = 8256 - 4096;
      }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"records 8256 bytes but the file has 4160 (truncated)"});
  add("total_size_smaller_than_file", resealed([](FixedHeader& f) {
        f.total_size = 4100;
        f.data_size = 4;
      }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"records 4100 bytes but the file has 4160 (extended)"});

  // The state word.
  add("invalid_state_3", with_state(valid, 3), Expect::bytes_object, V::invalid, Errc::corrupt,
      {"invalid state word 3"});
  add("invalid_state_max", with_state(valid, 0xFFFFFFFF), Expect::bytes_object, V::invalid,
      Errc::corrupt, {"invalid state word 4294967295"});

  // Layout version: checked before the checksum, whose coverage may change.
  add("newer_layout_version", unsealed([](FixedHeader& f) { f.layout_version = 10; }),
      Expect::bytes_object, V::invalid, Errc::version_mismatch,
      {"layout version 10", "understands version 9", "newer"});
  add("far_newer_layout_version", unsealed([](FixedHeader& f) { f.layout_version = 0xFFFF; }),
      Expect::any, V::invalid, Errc::version_mismatch, {"layout version 65535", "newer"});
  add("older_layout_version", unsealed([](FixedHeader& f) { f.layout_version = 8; }),
      Expect::bytes_object, V::invalid, Errc::version_mismatch, {"layout version 8", "older"});

  // Header size and checksum.
  for (const std::uint16_t size : std::initializer_list<std::uint16_t>{0, 632, 648, 0xFFFF}) {
    add("header_size_" + std::to_string(size),
        resealed([size](FixedHeader& f) { f.header_size = size; }), Expect::bytes_object,
        V::invalid, Errc::corrupt, {"header size " + std::to_string(size) + ", expected 640"});
  }
  add("checksum_mismatch", unsealed([](FixedHeader& f) { f.created_ns ^= 1; }),
      Expect::bytes_object, V::invalid, Errc::corrupt, {"checksum mismatch"});
  add("checksum_field_flipped", unsealed([](FixedHeader& f) { f.checksum ^= 0x100; }),
      Expect::bytes_object, V::invalid, Errc::corrupt, {"checksum mismatch"});
  add("creator_overwritten", unsealed([](FixedHeader& f) { f.creator = 0; }), Expect::bytes_object,
      V::invalid, Errc::corrupt, {"checksum mismatch"});

  // The data area.
  add("data_offset_misaligned", resealed([](FixedHeader& f) {
        f.data_offset = 4097;
        f.data_size = 63;
      }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"data area offset 4097 is not a multiple of 4096"});
  add("data_offset_zero", resealed([](FixedHeader& f) {
        f.data_offset = 0;
        f.data_size = kFileSize;
      }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"data area offset 0 is inside the 640-byte header"});
  add("data_offset_inside_header", resealed([](FixedHeader& f) {
        f.data_offset = 512;
        f.data_size = kFileSize - 512;
      }),
      Expect::bytes_object, V::invalid, Errc::corrupt, {"data area offset 512 is inside"});
  add("data_offset_past_end", resealed([](FixedHeader& f) {
        f.data_offset = 8192;
        f.data_size = 0;
      }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"data area offset 8192 is at or past the end of the 4160-byte object"});
  add("data_area_empty",
      resealed(
          [](FixedHeader& f) {
            f.total_size = 4096;
            f.data_size = 0;
          },
          4096),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"data area offset 4096 is at or past the end of the 4096-byte object"});
  add("data_size_too_small", resealed([](FixedHeader& f) { f.data_size = kDataSize - 1; }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"data area size 63 at offset 4096 does not end at the end of the 4160-byte object"});
  add("data_size_too_large", resealed([](FixedHeader& f) { f.data_size = kDataSize + 1; }),
      Expect::bytes_object, V::invalid, Errc::corrupt, {"data area size 65 at offset 4096"});
  add("data_size_zero", resealed([](FixedHeader& f) { f.data_size = 0; }), Expect::bytes_object,
      V::invalid, Errc::corrupt, {"data area size 0 at offset 4096"});

  // Values chosen to overflow a careless sum.
  add("data_offset_max", resealed([=](FixedHeader& f) { f.data_offset = kMax; }),
      Expect::bytes_object, V::invalid, Errc::corrupt, {"data area offset 18446744073709551615"});
  add("data_size_max", resealed([=](FixedHeader& f) { f.data_size = kMax; }), Expect::bytes_object,
      V::invalid, Errc::corrupt, {"data area size 18446744073709551615"});
  add("total_size_max", resealed([=](FixedHeader& f) { f.total_size = kMax; }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"records 18446744073709551615 bytes but the file has 4160"});
  // offset + size wraps around to exactly total_size.
  add("data_area_wraps_around", resealed([=](FixedHeader& f) {
        f.data_offset = kMax - detail::kDataAlignment + 1;
        f.data_size = kFileSize + detail::kDataAlignment;
      }),
      Expect::bytes_object, V::invalid, Errc::corrupt,
      {"data area offset 18446744073709547520 is at or past the end"});

  // Other v1 fields.
  for (const std::uint32_t capacity : {0u, 63u, 65u, 0xFFFFFFFFu}) {
    add("attach_capacity_" + std::to_string(capacity),
        resealed([capacity](FixedHeader& f) { f.attach_capacity = capacity; }),
        Expect::bytes_object, V::invalid, Errc::corrupt,
        {"attach table capacity " + std::to_string(capacity) + ", expected 64"});
  }
  add("reserved0_nonzero", resealed([](FixedHeader& f) { f.reserved0 = 1; }), Expect::bytes_object,
      V::invalid, Errc::corrupt, {"reserved header field is 0x00000001"});
  for (const std::uint32_t kind : {0u, kUnknownKind, 0xFFFFFFFFu}) {
    add("unknown_kind_" + std::to_string(kind), resealed([kind](FixedHeader& f) { f.kind = kind; }),
        Expect::any, V::invalid, Errc::corrupt, {"unknown object kind #" + std::to_string(kind)});
  }

  // The element type record.
  add("type_name_not_terminated", resealed([](FixedHeader& f) { f.type.name.fill('x'); }),
      Expect::any, V::invalid, Errc::corrupt, {"element type name is not NUL-terminated"});
  add("type_name_bytes_after_nul", resealed([](FixedHeader& f) { f.type.name.back() = 'x'; }),
      Expect::any, V::invalid, Errc::corrupt, {"bytes after its terminating NUL"});
  add("type_size_zero", resealed([](FixedHeader& f) { f.type.size = 0; }), Expect::any, V::invalid,
      Errc::corrupt, {"element type 'bytes' has size 0"});
  add("type_align_zero", resealed([](FixedHeader& f) { f.type.align = 0; }), Expect::any,
      V::invalid, Errc::corrupt, {"element type 'bytes' has alignment 0, not a power of 2"});
  add("type_align_not_power_of_2",
      resealed([](FixedHeader& f) { f.type = TypeFingerprint::make(6, 3, "Triple"); }), Expect::any,
      V::invalid, Errc::corrupt, {"'Triple' has alignment 3, not a power of 2"});
  add("type_size_not_multiple_of_align",
      resealed([](FixedHeader& f) { f.type = TypeFingerprint::make(6, 4, "Odd"); }), Expect::any,
      V::invalid, Errc::corrupt, {"'Odd' has size 6, not a multiple of its alignment 4"});

  // Valid objects, but not what the opener expects.
  add("wrong_kind", valid, Expect::mutex_kind, V::invalid, Errc::wrong_kind,
      {"it is a bytes object, not a mutex object"});
  add("wrong_kind_unknown_to_this_build", valid, Expect::unknown_kind, V::invalid, Errc::wrong_kind,
      {"it is a bytes object, not a kind #1000 object"});
  add("wrong_type_int32_expected", valid, Expect::int32_object, V::invalid, Errc::type_mismatch,
      {"it stores bytes (1 byte, align 1), not int32 (4 bytes, align 4)"});
  add("wrong_type_bytes_expected", resealed([](FixedHeader& f) { f.type = int32_type(); }),
      Expect::bytes_object, V::invalid, Errc::type_mismatch,
      {"it stores int32 (4 bytes, align 4), not bytes (1 byte, align 1)"});
  add("wrong_type_same_name_other_size",
      resealed([](FixedHeader& f) { f.type = TypeFingerprint::make(8, 8, "int32"); }),
      Expect::int32_object, V::invalid, Errc::type_mismatch,
      {"it stores int32 (8 bytes, align 8), not int32 (4 bytes, align 4)"});
  add("wrong_type_name_escaped",
      resealed([](FixedHeader& f) { f.type = TypeFingerprint::make(4, 4, "evil\x1b[2J\\"); }),
      Expect::int32_object, V::invalid, Errc::type_mismatch,
      {"it stores evil\\x1b[2J\\x5c (4 bytes, align 4)"});
  return c;
}

}  // namespace shmkit::test
