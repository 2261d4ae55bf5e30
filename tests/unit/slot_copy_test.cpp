// The copies of a message into a slot and out of it (detail/slot_copy.hpp):
// every size around their thresholds, from the small inline copies to the
// streaming one, lands whole and touches nothing past the message.
#include "shmkit/detail/slot_copy.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <gtest/gtest.h>

namespace shmkit::detail {
namespace {

std::vector<std::byte> varied(std::size_t length) {
  std::vector<std::byte> v(length);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (std::size_t i = 0; i < length; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v[i] = static_cast<std::byte>(x);
  }
  return v;
}

constexpr std::byte kGuard{0xa5};
constexpr std::size_t kGuardBytes = 128;

using Copy = void (*)(std::byte* to, std::span<const std::byte> from);

void into_slot(std::byte* to, std::span<const std::byte> from) { copy_into_slot(to, from); }
void out_of_slot(std::byte* to, std::span<const std::byte> from) {
  copy_from_slot(to, from.data(), from.size());
}

// Copies `length` bytes with `copy` from a source at `source_offset` in its
// buffer to a destination `offset` bytes past a 64-byte boundary (a slot's
// payload is 16 past one), then checks the copy and the guard bytes around
// it.
void check_copy(std::size_t length, std::size_t offset, std::size_t source_offset,
                Copy copy = into_slot) {
  SCOPED_TRACE("length " + std::to_string(length) + ", destination offset " +
               std::to_string(offset) + ", source offset " + std::to_string(source_offset));
  const std::vector<std::byte> whole = varied(length + source_offset);
  const std::span<const std::byte> message = std::span(whole).subspan(source_offset);
  std::vector<std::byte> buffer(64 + offset + length + kGuardBytes, kGuard);
  auto base = reinterpret_cast<std::uintptr_t>(buffer.data());  // NOLINT: alignment arithmetic
  const std::size_t to_line = (64 - base % 64) % 64;
  std::byte* const payload = buffer.data() + to_line + offset;
  copy(payload, message);
  for (std::size_t i = 0; i < length; ++i) {
    if (payload[i] != message[i]) FAIL() << "byte " << i << " differs";
  }
  for (std::byte* p = buffer.data(); p < payload; ++p) {
    if (*p != kGuard) FAIL() << "a byte before the payload was written";
  }
  for (std::byte* p = payload + length; p < buffer.data() + buffer.size(); ++p) {
    if (*p != kGuard) FAIL() << "a byte past the message was written";
  }
}

TEST(SlotCopy, TheStreamingThresholdIsNeverBelowTheOutOfLineOne) {
  EXPECT_GE(large_copy_threshold(), kLargeCopyMin);
}

TEST(SlotCopy, EverySizeAroundBothThresholdsLandsWholeAndNothingPastIt) {
  const std::size_t streaming = large_copy_threshold();
  for (const std::size_t length :
       {std::size_t{0}, std::size_t{1}, std::size_t{64}, kLargeCopyMin - 1, kLargeCopyMin,
        kLargeCopyMin + 1, streaming - 1, streaming, streaming + 1, streaming + 15, streaming + 63,
        streaming + 64, 3 * streaming + 37}) {
    check_copy(length, 16, 0);  // where a slot's payload is
    check_copy(length, 16, 3);  // from a source not aligned at all
  }
}

TEST(SlotCopy, ADestinationNotOn16BytesIsCopiedWholeToo) {
  const std::size_t streaming = large_copy_threshold();
  for (const std::size_t offset : {std::size_t{1}, std::size_t{8}, std::size_t{24}}) {
    check_copy(streaming + 5, offset, 0);
  }
}

// Into a slot: every size up to past the word copy's limit, to a slot's
// payload, from sources on 8 bytes and on none.
TEST(SlotCopy, EverySizeIntoASlotLandsWholeAndNothingPastIt) {
  for (std::size_t length = 0; length <= kWordCopyMax + 9; ++length) {
    for (const std::size_t source_offset : {std::size_t{0}, std::size_t{3}, std::size_t{8}}) {
      check_copy(length, 16, source_offset);
    }
  }
}

// Out of a slot: every size up to past the word copy's limit, into
// destinations on a line, on 8 bytes and on none, from a slot's payload
// and from a source not aligned at all.
TEST(SlotCopy, EverySizeOutOfASlotLandsWholeAndNothingPastIt) {
  for (std::size_t length = 0; length <= kWordCopyMax + 9; ++length) {
    for (const std::size_t offset :
         {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{60}}) {
      check_copy(length, offset, 16, out_of_slot);
      check_copy(length, offset, 3, out_of_slot);
    }
  }
  check_copy(4 * kWordCopyMax + 5, 8, 16, out_of_slot);
}

}  // namespace
}  // namespace shmkit::detail
