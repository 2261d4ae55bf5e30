#include "workloads/bare_mpmc_ring.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>

#include "workloads/message64.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

constexpr std::uint64_t kSlots = 1024;  // a power of two, as ByteQueue's 1024
constexpr std::uint64_t kMask = kSlots - 1;

// seq == pos: free for the producer of pos; pos + 1: written, for the
// consumer of pos; pos + kSlots: read, free for the producer of pos + kSlots.
struct alignas(2 * kCacheLine) Slot {
  std::atomic<std::uint64_t> seq;  // producer of pos, then consumer of pos
  Message64 message;               // producer of pos
};
static_assert(sizeof(Slot) == 2 * kCacheLine);

struct MpmcShared {
  StreamShared run;
  alignas(kCacheLine) std::atomic<std::uint64_t> tail;  // next to claim; producers
  alignas(kCacheLine) std::atomic<std::uint64_t> head;  // next to claim; consumers
  Slot slots[kSlots];
  // Zeroed memory is not a valid ring: slot i starts free for position i.
  void init() noexcept {
    for (std::uint64_t i = 0; i < kSlots; ++i) slots[i].seq.store(i, std::memory_order_relaxed);
  }
};

// Claims the position at `index` whose slot's seq is pos + ready; false when
// that slot is not ready (full for producers, empty for consumers).
bool claim(std::atomic<std::uint64_t>& index, MpmcShared& r, std::uint64_t ready,
           std::uint64_t& pos) noexcept {
  pos = index.load(std::memory_order_relaxed);
  for (;;) {
    // acquire: the slot's previous holder is done with it.
    const std::uint64_t seq = r.slots[pos & kMask].seq.load(std::memory_order_acquire);
    const auto ahead = static_cast<std::int64_t>(seq - (pos + ready));
    if (ahead < 0) return false;
    if (ahead > 0) {
      pos = index.load(std::memory_order_relaxed);  // another thread took pos
    } else if (index.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
      return true;
    }
  }
}

class Producer {
 public:
  explicit Producer(MpmcShared& r) noexcept : r_(r) {}
  bool try_push(const Message64& m) noexcept {
    std::uint64_t pos = 0;
    if (!claim(r_.tail, r_, 0, pos)) return false;
    Slot& s = r_.slots[pos & kMask];
    std::memcpy(&s.message, &m, sizeof m);
    s.seq.store(pos + 1, std::memory_order_release);  // the message before the hand-over
    return true;
  }

 private:
  MpmcShared& r_;
};

class Consumer {
 public:
  explicit Consumer(MpmcShared& r) noexcept : r_(r) {}
  bool try_pop(Message64& out) noexcept {
    std::uint64_t pos = 0;
    if (!claim(r_.head, r_, 1, pos)) return false;
    Slot& s = r_.slots[pos & kMask];
    std::memcpy(&out, &s.message, sizeof out);
    s.seq.store(pos + kSlots, std::memory_order_release);  // read before the reuse
    return true;
  }

 private:
  MpmcShared& r_;
};

}  // namespace

void bare_mpmc_ring_throughput_rep(Context& ctx, const std::string& system, ConsumerWork work) {
  spin_ring_throughput_rep<MpmcShared, Producer, Consumer>(ctx, system, work);
}

}  // namespace shmkit::bench
