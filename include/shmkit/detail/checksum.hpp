#pragma once

#include <cstddef>
#include <cstdint>

// FNV-1a, 32-bit: a checksum for header fields and long type names. Not
// cryptographic: it catches corruption and accidents, not an adversary.

namespace shmkit::detail {

inline std::uint32_t fnv1a32(const void* data, std::size_t size) noexcept {
  std::uint32_t hash = 2166136261u;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace shmkit::detail
