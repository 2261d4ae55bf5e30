#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/error.hpp"
#include "shmkit/kind.hpp"

// Validation of a segment header: a pure function over a private copy, so it
// can be fuzzed (fuzz/header_check_fuzz.cpp) and so that nothing a peer writes
// later changes what was checked. Thread-safe.

namespace shmkit::detail {

struct Expectation {
  std::optional<Kind> kind;             // nullopt: any kind (tools)
  std::optional<TypeFingerprint> type;  // nullopt: any element type
};

enum class HeaderVerdict {
  valid,      // every field checked; the object may be used
  not_ready,  // being created: wait (bounded) and check again
  invalid,    // `code` and `problem` say why
};

struct HeaderCheck {
  HeaderVerdict verdict = HeaderVerdict::invalid;
  Errc code = Errc::corrupt;  // meaningful when invalid
  std::string problem;        // what is wrong, without the object's name
};

// `fixed`: a copy of the first min(file_size, sizeof(FixedHeader)) bytes of the
// file, zero beyond that. While `state` is not ready the creator may still be
// writing: a caller may then pass the magic alone (the rest zero). `state`: the
// state word, loaded with acquire by the caller (0 if the file is too short to
// hold it). `file_size`: from fstat.
//
// `valid` guarantees: magic, version, header_size, checksum, state == ready;
// data_offset a multiple of kDataAlignment, >= sizeof(SegmentHeader);
// 0 < data_size <= kMaxDataSize; data_offset + data_size == total_size ==
// file_size, without overflow; attach_capacity == kAttachSlots; reserved0 == 0;
// a known kind; a NUL-terminated, NUL-padded type name, type size > 0 and a
// power-of-2 alignment dividing it; and `expect` met.
// The creator identity and creation time are not checked (informational).
HeaderCheck check_header(const FixedHeader& fixed, std::uint32_t state, std::uint64_t file_size,
                         const Expectation& expect);

// For a file whose magic is 0, which may be a creator's reserved header area
// that it has not yet written to (init step 1): false if it is not, because a
// byte of its header area that no creator ever writes is not zero (reserved1,
// and the padding from the end of SegmentHeader to kDataAlignment).
// `header_area`: the file's first min(file size, kDataAlignment) bytes. The
// fields a creator writes are not looked at: it may be writing them now.
bool unwritten_bytes_zero(std::span<const std::byte> header_area) noexcept;

// The checksum a creator stores in fixed.checksum.
std::uint32_t header_checksum(const FixedHeader& fixed) noexcept;

}  // namespace shmkit::detail
