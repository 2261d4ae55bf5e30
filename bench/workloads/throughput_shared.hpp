#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "harness/clock.hpp"
#include "harness/context.hpp"
#include "harness/team.hpp"

// What the producer and consumer of a throughput repetition share, and how the
// consumer stamps its measured interval: it reads the clock only every 256
// messages until the warm-up has passed (a clock read per message would cost
// as much as a message), then once more at the stop message.

namespace shmkit::bench {

struct ThroughputShared {
  alignas(64) StartLine start;
  alignas(64) std::int64_t first_ns;  // written by the consumer
  std::int64_t last_ns;
  std::uint64_t received;  // messages between first_ns and last_ns
};

class ThroughputClock {
 public:
  explicit ThroughputClock(std::chrono::nanoseconds warm_up) noexcept
      : warm_until_(now_ns() + warm_up.count()) {}
  // Call for each verified message `seq` (1, 2, ...).
  void on_message(std::uint64_t seq) noexcept {
    if (first_seq_ == 0 && (seq & 255) == 0 && now_ns() >= warm_until_) {
      first_seq_ = seq;
      first_ns_ = now_ns();
    }
  }
  // Call at the stop message; `next` is the sequence it expected next.
  void finish(ThroughputShared& s, std::uint64_t next) const noexcept {
    s.last_ns = now_ns();
    s.first_ns = first_ns_;
    s.received = first_seq_ == 0 ? 0 : next - first_seq_;  // 0: still warming up
  }

 private:
  std::int64_t warm_until_;
  std::int64_t first_ns_ = 0;
  std::uint64_t first_seq_ = 0;
};

// Records s's messages per second as `metric`, or fails if there were none.
inline void record_throughput(Context& ctx, const std::string& system, const Metric& metric,
                              const ThroughputShared& s) {
  if (s.received == 0 || s.last_ns <= s.first_ns) {
    throw CaseFailure(system + ": nothing received after the warm-up");
  }
  ctx.record(system, metric,
             static_cast<double>(s.received) / static_cast<double>(s.last_ns - s.first_ns) * 1e9);
}

}  // namespace shmkit::bench
