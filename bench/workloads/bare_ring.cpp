#include "workloads/bare_ring.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>

#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "workloads/message64.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

constexpr auto kWarmUp = std::chrono::milliseconds(10);
constexpr std::uint64_t kSlots = 1024;  // a power of two, as ByteQueue's 1024
constexpr std::uint64_t kMask = kSlots - 1;

struct RingShared {
  ThroughputShared result;
  alignas(kCacheLine) std::atomic<std::uint64_t> tail;  // next to write; producer only
  alignas(kCacheLine) std::atomic<std::uint64_t> head;  // next to read; consumer only
  alignas(kCacheLine) Message64 slots[kSlots];
};

class Producer {
 public:
  explicit Producer(RingShared& r) noexcept : r_(r) {}
  bool try_push(const Message64& m) noexcept {
    if (tail_ - head_cache_ == kSlots) {
      head_cache_ = r_.head.load(std::memory_order_acquire);
      if (tail_ - head_cache_ == kSlots) return false;
    }
    std::memcpy(&r_.slots[tail_ & kMask], &m, sizeof m);
    r_.tail.store(++tail_, std::memory_order_release);
    return true;
  }

 private:
  RingShared& r_;
  std::uint64_t tail_ = 0;
  std::uint64_t head_cache_ = 0;
};

class Consumer {
 public:
  explicit Consumer(RingShared& r) noexcept : r_(r) {}
  bool try_pop(Message64& out) noexcept {
    if (head_ == tail_cache_) {
      tail_cache_ = r_.tail.load(std::memory_order_acquire);
      if (head_ == tail_cache_) return false;
    }
    std::memcpy(&out, &r_.slots[head_ & kMask], sizeof out);
    r_.head.store(++head_, std::memory_order_release);
    return true;
  }

 private:
  RingShared& r_;
  std::uint64_t head_ = 0;
  std::uint64_t tail_cache_ = 0;
};

}  // namespace

void bare_ring_throughput_rep(Context& ctx, const std::string& system) {
  SharedBlock<RingShared> block;
  RingShared& s = *block;
  const bool shared_core = ctx.shared_core();
  const auto run_for = std::chrono::nanoseconds(kWarmUp + ctx.duration());
  Team team(ctx);
  team.spawn(0, [&] {
    Producer ring(s);
    SpinWait spin(shared_core);
    s.result.start.arrive_and_wait(2, shared_core);
    TimeBox box(run_for, 16);
    std::uint64_t i = 1;
    do {
      const Message64 m = Message64::make(i++);
      while (!ring.try_push(m)) spin();
    } while (!box.expired());
    const Message64 stop = Message64::make(Message64::kStop);
    while (!ring.try_push(stop)) spin();
  });
  team.spawn(1, [&] {
    Consumer ring(s);
    SpinWait spin(shared_core);
    s.result.start.arrive_and_wait(2, shared_core);
    ThroughputClock clock(kWarmUp);
    std::uint64_t expected = 1;
    Message64 m{};
    for (;;) {
      if (!ring.try_pop(m)) {
        spin();
        continue;
      }
      if (m.seq == Message64::kStop && m.valid(Message64::kStop)) break;
      m.verify(expected, "consumer");
      clock.on_message(expected);
      ++expected;
    }
    clock.finish(s.result, expected);
  });
  team.join();
  record_throughput(ctx, system, metrics::kMsgs64, s.result);
}

}  // namespace shmkit::bench
