#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "harness/clock.hpp"
#include "harness/context.hpp"
#include "harness/team.hpp"

// Per-iteration latency samples, kept in memory that the main process can
// read after the children exit (the extra bytes of a SharedBlock), and their
// percentiles. A sample is a 32-bit count of some unit (ticks, ns); the caller
// says how many one-way nanoseconds a unit is. LatencySampler is how every
// ping-pong takes its samples.

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

// Sample storage for a ping-pong's pinger: 1 Mi round trips (4 MiB), more
// than the longest repetition needs at ~100 ns a round trip.
inline constexpr std::size_t kRoundTripSampleBytes = std::size_t{4} << 20;

// The pinger's side of a ping-pong repetition: call lap() once after each
// verified round trip, and stop when it returns false. It lets the round
// trips of kWarmUp go by, then samples each one (in ticks) into `samples`
// until `duration` has passed and kMinLatencySamples were taken (4 x duration
// at most, TimeBox) or the buffer is full. Construct it when the ping-pong
// starts: it reads the clock. `every`: round trips between two reads of
// now_ns() for the TimeBox (1 where a round trip costs a system call, 64
// where it costs ~100 ns).
class LatencySampler {
 public:
  LatencySampler(SampleBuffer& samples, std::chrono::nanoseconds duration,
                 std::uint32_t every) noexcept
      : samples_(samples), duration_(duration), every_(every), box_(kWarmUp, every) {}

  [[nodiscard]] bool lap() noexcept {
    const std::uint64_t t = ticks();
    if (measuring_ && !samples_.push(t - prev_)) return false;
    prev_ = t;
    if (!box_.expired(samples_.size())) return true;
    if (measuring_) return false;
    measuring_ = true;
    box_ = TimeBox(duration_, every_, kMinLatencySamples);
    prev_ = ticks();  // the TimeBox read the clock: not part of the next round trip
    return true;
  }

 private:
  SampleBuffer& samples_;
  std::chrono::nanoseconds duration_;
  std::uint32_t every_;
  TimeBox box_;
  bool measuring_ = false;
  std::uint64_t prev_ = ticks();
};

// Records the figures of `n` round trips that a LatencySampler sampled at
// `data` (reordered in place): one-way = round trip / 2.
void record_round_trips(Context& ctx, const std::string& system, void* data, std::size_t n);

}  // namespace shmkit::bench
