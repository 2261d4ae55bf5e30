#include "shmkit/detail/slot_copy.hpp"

#include <unistd.h>

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace shmkit::detail {
namespace {

// The streaming loop's round: four 16-byte stores, one line's worth.
constexpr std::size_t kRound = 64;

std::size_t threshold_from_l2() noexcept {
  const long l2 = ::sysconf(_SC_LEVEL2_CACHE_SIZE);  // 0 or -1 where unknown
  const std::size_t half = l2 > 0 ? static_cast<std::size_t>(l2) / 2 : std::size_t{512} << 10;
  return half < kLargeCopyMin ? kLargeCopyMin : half;
}

}  // namespace

std::size_t large_copy_threshold() noexcept {
  static const std::size_t threshold = threshold_from_l2();
  return threshold;
}

void copy_large_into_slot(std::byte* payload, std::span<const std::byte> message) noexcept {
  const std::size_t n = message.size();
#if defined(__SSE2__)
  if (n >= large_copy_threshold() && reinterpret_cast<std::uintptr_t>(payload) % 16 == 0) {
    const std::size_t whole = n - n % kRound;
    auto* to = reinterpret_cast<__m128i*>(payload);                       // NOLINT: SSE2 stores
    const auto* from = reinterpret_cast<const __m128i*>(message.data());  // NOLINT
    for (std::size_t i = 0; i < whole / 16; i += 4) {
      const __m128i a = _mm_loadu_si128(from + i);
      const __m128i b = _mm_loadu_si128(from + i + 1);
      const __m128i c = _mm_loadu_si128(from + i + 2);
      const __m128i d = _mm_loadu_si128(from + i + 3);
      _mm_stream_si128(to + i, a);
      _mm_stream_si128(to + i + 1, b);
      _mm_stream_si128(to + i + 2, c);
      _mm_stream_si128(to + i + 3, d);
    }
    if (whole != n) std::memcpy(payload + whole, message.data() + whole, n - whole);
    // Non-temporal stores are not ordered by the release store that
    // publishes the slot (x86 orders normal stores only): fence them first.
    _mm_sfence();
    return;
  }
#endif
  std::memcpy(payload, message.data(), n);
}

void copy_large_from_slot(std::byte* to, const std::byte* payload, std::size_t size) noexcept {
  std::memcpy(to, payload, size);
}

}  // namespace shmkit::detail
