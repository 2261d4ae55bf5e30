#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "harness/context.hpp"

// Per-iteration latency samples, kept in memory that the main process can
// read after the children exit (the extra bytes of a SharedBlock), and their
// percentiles. A sample is a 32-bit count of some unit (ticks, ns); the caller
// says how many one-way nanoseconds a unit is.

namespace shmkit::bench {

class SampleBuffer {
 public:
  SampleBuffer(void* memory, std::size_t bytes) noexcept
      : data_(static_cast<std::uint32_t*>(memory)), capacity_(bytes / sizeof(std::uint32_t)) {}

  // Touches every page now, so that no page fault lands in a measured loop.
  void prefault() noexcept { std::memset(data_, 0, capacity_ * sizeof(std::uint32_t)); }

  // false when full: the caller stops measuring.
  bool push(std::uint64_t value) noexcept {
    if (size_ == capacity_) return false;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
    data_[size_++] = static_cast<std::uint32_t>(value < kMax ? value : kMax);
    return true;
  }
  [[nodiscard]] bool full() const noexcept { return size_ == capacity_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::uint32_t* data() const noexcept { return data_; }

 private:
  std::uint32_t* data_;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

struct LatencyFigures {
  std::size_t n = 0;
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
  double mean = 0;
};

// Percentiles of `n` samples at `data` (reordered in place), in one-way ns.
LatencyFigures latency_figures(std::uint32_t* data, std::size_t n, double ns_per_unit);

// Samples a latency repetition aims for (TimeBox's min_count).
inline constexpr std::size_t kMinLatencySamples = 1000;

// Records p50, p99, p99.9 and mean as metrics::kOneWay* of `system`. Throws
// CaseFailure if there are none; notes it if there are under
// kMinLatencySamples (p99.9 is then about the maximum).
void record_latency(Context& ctx, const std::string& system, const LatencyFigures& f);

}  // namespace shmkit::bench
