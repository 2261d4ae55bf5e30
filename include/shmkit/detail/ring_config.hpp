#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "shmkit/detail/queue_layout.hpp"
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

}  // namespace shmkit::detail
