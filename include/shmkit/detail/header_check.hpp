#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "shmkit/error.hpp"
#include "shmkit/kind.hpp"
#include "shmkit/detail/segment_layout.hpp"

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
// file, zero beyond that. `state`: the state word, loaded with acquire by the
// caller (0 if the file is too short to hold it). `file_size`: from fstat.
HeaderCheck check_header(const FixedHeader& fixed, std::uint32_t state, std::uint64_t file_size,
                         const Expectation& expect);

// The checksum a creator stores in fixed.checksum.
std::uint32_t header_checksum(const FixedHeader& fixed) noexcept;

}  // namespace shmkit::detail
