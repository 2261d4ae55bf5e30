#include "shmkit/detail/header_check.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "shmkit/detail/checksum.hpp"
#include "shmkit/detail/printable.hpp"

namespace shmkit::detail {
namespace {

HeaderCheck invalid(Errc code, std::string problem) {
  return {HeaderVerdict::invalid, code, std::move(problem)};
}

HeaderCheck not_ready(std::string why) {
  return {HeaderVerdict::not_ready, Errc::timeout, std::move(why)};
}

bool all_zero(const FixedHeader& fixed) noexcept {
  std::array<unsigned char, sizeof(FixedHeader)> bytes{};
  std::memcpy(bytes.data(), &fixed, sizeof fixed);
  for (const unsigned char b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string hex32(std::uint32_t value) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", value);
  return buf.data();
}

std::string kind_label(std::uint32_t number) {
  const auto kind = kind_from_number(number);
  return kind ? std::string(kind_name(*kind)) : "kind #" + std::to_string(number);
}

// Checks that need only the first bytes: is it ours at all, and is it ready?
std::optional<HeaderCheck> check_identity(const FixedHeader& fixed, std::uint32_t state,
                                          std::uint64_t file_size) {
  // A creator reserves the header area, records itself there, and only then
  // the whole file: the short files it can leave are an empty one (right
  // after its O_EXCL open) and a header-sized one, initialising, which names
  // it.
  if (file_size == 0) return not_ready("the file is empty: its creator has not reserved it yet");
  if (file_size < sizeof(fixed.magic)) {
    return invalid(Errc::corrupt, "not a shmkit object (" + std::to_string(file_size) + " bytes)");
  }
  if (fixed.magic != kMagic) {
    // A zero-filled file of full size: reserved, but the creator has not yet
    // written the magic.
    if (fixed.magic == 0 && file_size >= sizeof(SegmentHeader) && all_zero(fixed) &&
        state <= static_cast<std::uint32_t>(SegmentState::initialising)) {
      return not_ready(
          "nothing is written in it yet: its creator has not finished initialising it, or it is "
          "not a shmkit object");
    }
    return invalid(Errc::corrupt, "not a shmkit object (magic " + hex32(fixed.magic) + ")");
  }
  if (file_size < sizeof(SegmentHeader)) {
    return invalid(Errc::corrupt, "truncated: " + std::to_string(file_size) +
                                      " bytes, smaller than the " +
                                      std::to_string(sizeof(SegmentHeader)) + "-byte header");
  }
  if (state == static_cast<std::uint32_t>(SegmentState::uninitialised) ||
      state == static_cast<std::uint32_t>(SegmentState::initialising)) {
    return not_ready("its creator has not finished initialising it");
  }
  if (state != static_cast<std::uint32_t>(SegmentState::ready)) {
    return invalid(Errc::corrupt, "invalid state word " + std::to_string(state));
  }
  if (fixed.layout_version != kLayoutVersion) {
    const bool newer = fixed.layout_version > kLayoutVersion;
    return invalid(Errc::version_mismatch,
                   "layout version " + std::to_string(fixed.layout_version) +
                       ", this build of "
                       "shmkit understands version " +
                       std::to_string(kLayoutVersion) +
                       (newer ? " (created by a newer shmkit)" : " (created by an older shmkit)"));
  }
  return std::nullopt;
}

// The data area: page-aligned, after the header, ending exactly at the end of
// the object, never empty. total_size == file size is already checked. No sum
// is formed, so nothing can wrap: offset < total, then size == total - offset.
std::optional<HeaderCheck> check_data_area(const FixedHeader& fixed) {
  const std::uint64_t offset = fixed.data_offset;
  const std::uint64_t size = fixed.data_size;
  const std::uint64_t total = fixed.total_size;
  if (offset < sizeof(SegmentHeader)) {
    return invalid(Errc::corrupt, "data area offset " + std::to_string(offset) + " is inside the " +
                                      std::to_string(sizeof(SegmentHeader)) + "-byte header");
  }
  if (offset % kDataAlignment != 0) {
    return invalid(Errc::corrupt, "data area offset " + std::to_string(offset) +
                                      " is not a multiple of " + std::to_string(kDataAlignment));
  }
  if (offset >= total) {
    return invalid(Errc::corrupt, "data area offset " + std::to_string(offset) +
                                      " is at or past the end of the " + std::to_string(total) +
                                      "-byte object");
  }
  if (size != total - offset) {
    return invalid(Errc::corrupt, "data area size " + std::to_string(size) + " at offset " +
                                      std::to_string(offset) + " does not end at the end of the " +
                                      std::to_string(total) + "-byte object");
  }
  if (size > kMaxDataSize) {
    return invalid(Errc::corrupt, "data area size " + std::to_string(size) +
                                      " is larger than the maximum " +
                                      std::to_string(kMaxDataSize));
  }
  return std::nullopt;
}

// The element type record: a NUL-terminated, NUL-padded name, a size and a
// power-of-2 alignment that divides the size (as for every C++ type).
std::optional<HeaderCheck> check_type_record(const TypeFingerprint& type) {
  const auto nul = std::find(type.name.begin(), type.name.end(), '\0');
  if (nul == type.name.end()) {
    return invalid(Errc::corrupt, "element type name is not NUL-terminated");
  }
  if (std::any_of(nul, type.name.end(), [](char c) { return c != '\0'; })) {
    return invalid(Errc::corrupt, "element type name has bytes after its terminating NUL");
  }
  const std::string name = "element type '" + type.printable_name() + "'";
  if (type.size == 0) return invalid(Errc::corrupt, name + " has size 0");
  if (type.align == 0 || (type.align & (type.align - 1)) != 0) {
    return invalid(Errc::corrupt,
                   name + " has alignment " + std::to_string(type.align) + ", not a power of 2");
  }
  if (type.size % type.align != 0) {
    return invalid(Errc::corrupt, name + " has size " + std::to_string(type.size) +
                                      ", not a multiple of its alignment " +
                                      std::to_string(type.align));
  }
  return std::nullopt;
}

// Checks of the v1 fields themselves.
std::optional<HeaderCheck> check_fields(const FixedHeader& fixed, std::uint64_t file_size) {
  if (fixed.header_size != sizeof(SegmentHeader)) {
    return invalid(Errc::corrupt, "header size " + std::to_string(fixed.header_size) +
                                      ", expected " + std::to_string(sizeof(SegmentHeader)));
  }
  if (const std::uint32_t sum = header_checksum(fixed); sum != fixed.checksum) {
    return invalid(Errc::corrupt, "header checksum mismatch (stored " + hex32(fixed.checksum) +
                                      ", computed " + hex32(sum) + "): the header was overwritten");
  }
  if (fixed.total_size != file_size) {
    return invalid(Errc::corrupt,
                   "the header records " + std::to_string(fixed.total_size) +
                       " bytes but the file has " + std::to_string(file_size) +
                       (file_size < fixed.total_size ? " (truncated)" : " (extended)"));
  }
  if (auto result = check_data_area(fixed)) return result;
  if (fixed.attach_capacity != kAttachSlots) {
    return invalid(Errc::corrupt, "attach table capacity " + std::to_string(fixed.attach_capacity) +
                                      ", expected " + std::to_string(kAttachSlots));
  }
  if (fixed.reserved0 != 0) {
    return invalid(Errc::corrupt,
                   "reserved header field is " + hex32(fixed.reserved0) + ", expected 0");
  }
  if (!kind_from_number(fixed.kind)) {
    return invalid(Errc::corrupt, "unknown object kind #" + std::to_string(fixed.kind));
  }
  return check_type_record(fixed.type);
}

}  // namespace

bool unwritten_bytes_zero(std::span<const std::byte> header_area) noexcept {
  const auto zero = [](std::span<const std::byte> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
  };
  constexpr std::size_t kReserved1 = offsetof(SegmentHeader, reserved1);
  if (header_area.size() >= kReserved1 + sizeof(SegmentHeader::reserved1) &&
      !zero(header_area.subspan(kReserved1, sizeof(SegmentHeader::reserved1)))) {
    return false;
  }
  const std::size_t end = std::min<std::size_t>(header_area.size(), kDataAlignment);
  return end <= sizeof(SegmentHeader) ||
         zero(header_area.subspan(sizeof(SegmentHeader), end - sizeof(SegmentHeader)));
}

std::uint32_t header_checksum(const FixedHeader& fixed) noexcept {
  return fnv1a32(&fixed, kChecksummedBytes);
}

HeaderCheck check_header(const FixedHeader& fixed, std::uint32_t state, std::uint64_t file_size,
                         const Expectation& expect) {
  if (auto result = check_identity(fixed, state, file_size)) return *result;
  if (auto result = check_fields(fixed, file_size)) return *result;
  if (expect.kind && static_cast<std::uint32_t>(*expect.kind) != fixed.kind) {
    return invalid(Errc::wrong_kind,
                   "it is " + with_article(kind_label(fixed.kind)) + " object, not " +
                       with_article(kind_label(static_cast<std::uint32_t>(*expect.kind))) +
                       " object");
  }
  if (expect.type && !(*expect.type == fixed.type)) {
    return invalid(Errc::type_mismatch,
                   "it stores " + fixed.type.describe() + ", not " + expect.type->describe());
  }
  return {HeaderVerdict::valid, Errc::corrupt, {}};
}

}  // namespace shmkit::detail
