#include "workloads/bare_ring.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>

#include "workloads/message64.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

constexpr std::uint64_t kSlots = 1024;  // a power of two, as ByteQueue's 1024
constexpr std::uint64_t kMask = kSlots - 1;

struct RingShared {
  StreamShared run;
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

void bare_ring_throughput_rep(Context& ctx, const std::string& system, ConsumerWork work) {
  spin_ring_throughput_rep<RingShared, Producer, Consumer>(ctx, system, work);
}

}  // namespace shmkit::bench
