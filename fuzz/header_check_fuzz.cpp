// libFuzzer target for the segment header validator, detail::check_header.
//
// Input: byte 0 chooses what the opener expects (expectation_for below); the
// remaining bytes are the start of a segment file, and their count is the file
// size. From them the harness builds what Segment::open hands the validator: a
// zeroed FixedHeader holding the first min(size, 120) bytes and the state word
// from bytes 120..123 when the file has them. check_header must never crash,
// and whenever it answers `valid` the invariants a user of the header relies on
// must hold; any violation calls abort(), which libFuzzer reports as a crash.
//
// Seeds: fuzz/make_seeds.cpp writes the named broken headers of
// tests/layout/broken_headers.hpp, each with its selector byte in front.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "shmkit/detail/header_check.hpp"

namespace {

using shmkit::Errc;
using shmkit::Kind;
using shmkit::TypeFingerprint;
using shmkit::detail::Expectation;
using shmkit::detail::FixedHeader;
using shmkit::detail::HeaderCheck;
using shmkit::detail::HeaderVerdict;
using shmkit::detail::SegmentHeader;

constexpr std::size_t kStateOffset = offsetof(SegmentHeader, state);
constexpr auto kReady = static_cast<std::uint32_t>(shmkit::detail::SegmentState::ready);
constexpr auto kInitialising =
    static_cast<std::uint32_t>(shmkit::detail::SegmentState::initialising);

// Keep in step with enum Expect in tests/layout/broken_headers.hpp.
Expectation expectation_for(std::uint8_t selector) {
  Expectation e;
  switch (selector % 6) {
    case 0: break;  // any kind, any type (tools)
    case 1: e.kind = Kind::bytes; break;
    case 2:
      e.kind = Kind::bytes;
      e.type = TypeFingerprint::bytes();
      break;
    case 3:
      e.kind = Kind::bytes;
      e.type = TypeFingerprint::of<std::int32_t>();
      break;
    case 4: e.kind = Kind::mutex; break;
    default: e.kind = static_cast<Kind>(1000); break;  // unknown to this build
  }
  return e;
}

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "header_check_fuzz: invariant violated: %s\n", what);
  std::abort();
}

// What a valid verdict promises (header_check.hpp), checked field by field.
void require_usable(const FixedHeader& f, std::uint32_t state, std::uint64_t file_size,
                    const Expectation& expect) {
  require(state == kReady, "state is ready");
  require(f.magic == shmkit::detail::kMagic, "magic");
  require(f.layout_version == shmkit::detail::kLayoutVersion, "layout version");
  require(f.header_size == sizeof(SegmentHeader), "header_size");
  require(shmkit::detail::header_checksum(f) == f.checksum, "checksum matches");
  require(file_size >= sizeof(SegmentHeader), "file holds the whole header");
  require(f.total_size == file_size, "total_size == file size");
  require(f.data_offset >= sizeof(SegmentHeader), "data_offset after the header");
  require(f.data_offset % shmkit::detail::kDataAlignment == 0, "data_offset page-aligned");
  std::uint64_t end = 0;
  require(!__builtin_add_overflow(f.data_offset, f.data_size, &end), "offset + size overflows");
  require(end == f.total_size, "data_offset + data_size == total_size");
  require(f.data_size > 0 && f.data_size <= shmkit::detail::kMaxDataSize,
          "data_size in 1..kMaxDataSize");
  require(f.attach_capacity == shmkit::detail::kAttachSlots, "attach_capacity");
  require(f.reserved0 == 0, "reserved0 zero");
  require(shmkit::kind_from_number(f.kind).has_value(), "kind known");
  require(f.type.name.back() == '\0', "type name NUL-terminated");
  require(f.type.size > 0, "type size > 0");
  require(f.type.align > 0 && (f.type.align & (f.type.align - 1)) == 0, "type align power of 2");
  require(f.type.size % f.type.align == 0, "type size multiple of align");
  require(!expect.kind || static_cast<std::uint32_t>(*expect.kind) == f.kind, "expected kind");
  require(!expect.type || *expect.type == f.type, "expected type");
  // Opening it as exactly what it stores is valid too.
  const Expectation exact{static_cast<Kind>(f.kind), f.type};
  require(shmkit::detail::check_header(f, state, file_size, exact).verdict == HeaderVerdict::valid,
          "valid as what it stores");
}

void require_explained(const HeaderCheck& check, std::uint32_t state, std::uint64_t file_size,
                       const Expectation& expect) {
  require(!check.problem.empty(), "a problem is given");
  for (const char c : check.problem) {
    require(c >= 0x20 && c < 0x7f, "problem is printable ASCII");  // it reaches terminals
  }
  if (check.verdict == HeaderVerdict::not_ready) {
    require(file_size == 0 || state == 0 || state == kInitialising, "not_ready while creating");
    require(check.code == Errc::timeout, "not_ready carries timeout");
    return;
  }
  switch (check.code) {
    case Errc::corrupt:
    case Errc::version_mismatch: break;
    case Errc::wrong_kind: require(expect.kind.has_value(), "wrong_kind needs a kind"); break;
    case Errc::type_mismatch: require(expect.type.has_value(), "type_mismatch needs a type"); break;
    default: require(false, "invalid carries a header code");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t selector = size > 0 ? data[0] : 0;
  const std::uint8_t* file = size > 0 ? data + 1 : data;
  const std::uint64_t file_size = size > 0 ? size - 1 : 0;
  const Expectation expect = expectation_for(selector);

  FixedHeader fixed{};
  if (file_size > 0) std::memcpy(&fixed, file, std::min<std::size_t>(file_size, sizeof fixed));
  std::uint32_t state = 0;
  if (file_size >= kStateOffset + sizeof state) {
    std::memcpy(&state, file + kStateOffset, sizeof state);
  }

  const HeaderCheck check = shmkit::detail::check_header(fixed, state, file_size, expect);
  if (check.verdict == HeaderVerdict::valid) {
    require(check.problem.empty(), "valid has no problem");
    require_usable(fixed, state, file_size, expect);
  } else {
    require_explained(check, state, file_size, expect);
  }

  // While the state is not ready, Segment::open passes the magic alone.
  if (state != kReady) {
    FixedHeader magic_only{};
    magic_only.magic = fixed.magic;
    const HeaderCheck partial = shmkit::detail::check_header(magic_only, state, file_size, expect);
    require(partial.verdict != HeaderVerdict::valid, "never valid before ready");
    require_explained(partial, state, file_size, expect);
  }
  return 0;
}
