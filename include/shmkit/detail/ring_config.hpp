#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "shmkit/detail/queue_layout.hpp"
#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/error.hpp"

// The slot-ring configuration rule shared by queues and pipes.

namespace shmkit::detail {

// The slot count for `capacity` (rounded up to a power of two, at least 2),
// after checking capacity and max_message are in range; `what` ("queue
// 'jobs'") names the object in the error.
inline std::uint32_t ring_slot_count(const std::string& what, std::uint32_t capacity,
                                     std::uint32_t max_message) {
  if (max_message == 0 || max_message > kQueueMaxMessage || capacity == 0 ||
      capacity > kQueueMaxSlots) {
    throw Error(std::make_error_code(std::errc::invalid_argument),
                what + ": capacity must be 1.." + std::to_string(kQueueMaxSlots) +
                    " and max_message 1.." + std::to_string(kQueueMaxMessage));
  }
  return std::max<std::uint32_t>(2, std::bit_ceil(capacity));
}

// The data-area bytes of `rings` rings of `slot_count` slots of `slot_size`
// bytes (for messages of `max_message`) after `head_bytes`, after checking
// they are within the object size limit: each setting may be in range and
// their product not.
inline std::uint64_t ring_data_size(const std::string& what, std::uint64_t head_bytes,
                                    unsigned rings, std::uint32_t slot_count,
                                    std::uint32_t max_message, std::uint64_t slot_size) {
  const std::uint64_t bytes = ring_area_size(head_bytes, rings, slot_count, slot_size);
  if (bytes > kMaxDataSize) {
    throw Error(std::make_error_code(std::errc::invalid_argument),
                what + ": capacity " + std::to_string(slot_count) + " slots x max_message " +
                    std::to_string(max_message) + " needs " + std::to_string(bytes) +
                    " bytes, more than an object may have (" + std::to_string(kMaxDataSize) +
                    "): lower one of them");
  }
  return bytes;
}

}  // namespace shmkit::detail
