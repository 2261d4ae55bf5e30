#include "workloads/bulk.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "harness/clock.hpp"
#include "shmkit/queue.hpp"
#include "workloads/bulk_ring.hpp"
#include "workloads/message64.hpp"
#include "workloads/queue_status.hpp"

namespace shmkit::bench {
namespace {

// --- Bulk messages --------------------------------------------------------------

std::uint64_t load_word(const std::byte* p) noexcept {
  std::uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
  return w;
}

void store_word(std::byte* p, std::uint64_t w) noexcept { std::memcpy(p, &w, sizeof w); }

void check_size(std::span<const std::byte> m, std::size_t size, std::uint64_t expected,
                const char* who) {
  if (m.size() != size) {
    throw CaseFailure(std::string(who) + ": message " + std::to_string(expected) + " has " +
                      std::to_string(m.size()) + " bytes, expected " + std::to_string(size));
  }
}

[[noreturn]] void bad_stamp(std::uint64_t expected, const char* where, std::uint64_t got,
                            const char* who) {
  throw CaseFailure(std::string(who) + ": expected message " + std::to_string(expected) + ", its " +
                    where + " stamp reads " + std::to_string(got));
}

// The first and last words of a message of the right size.
void check_ends(std::span<const std::byte> m, std::uint64_t expected, const char* who) {
  const std::uint64_t head = load_word(m.data());
  if (head != expected) bad_stamp(expected, "first", head, who);
  const std::uint64_t tail = load_word(m.data() + m.size() - sizeof tail);
  if (tail != expected) bad_stamp(expected, "last", tail, who);
}

unsigned char fill_byte(std::uint64_t seq) noexcept { return static_cast<unsigned char>(seq); }

// OR of (word ^ pattern) over `bytes` (a multiple of 8) at `p`: zero iff
// every word is the pattern. No early exit, and four independent accumulators,
// so that g++ -O2 vectorises it (the shape matters: a loop that copies a whole
// line into a local array first compiles to a scalar loop at a third of the
// speed): it reads at about the speed the caches deliver.
std::uint64_t mismatch(const std::byte* p, std::size_t bytes, std::uint64_t pattern) noexcept {
  constexpr std::size_t kWord = sizeof(std::uint64_t);
  std::uint64_t acc[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 * kWord <= bytes; i += 4 * kWord) {
    for (std::size_t k = 0; k < 4; ++k) acc[k] |= load_word(p + i + k * kWord) ^ pattern;
  }
  for (; i + kWord <= bytes; i += kWord) acc[0] |= load_word(p + i) ^ pattern;
  return acc[0] | acc[1] | acc[2] | acc[3];
}

// --- memcpy -------------------------------------------------------------------

struct MemcpyShared {
  double gbps[kBulkSizes.size()];  // written by the child
};

// Copies `size` bytes from one buffer to another for `duration`; each copy
// carries a fresh stamp, checked in the destination, so no copy can be
// skipped or cut short unnoticed. Bytes per ns = GB/s.
double memcpy_rate(std::size_t size, std::chrono::nanoseconds duration) {
  struct Free {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  const std::unique_ptr<void, Free> src_block(std::aligned_alloc(kCacheLine, size));
  const std::unique_ptr<void, Free> dst_block(std::aligned_alloc(kCacheLine, size));
  if (!src_block || !dst_block) throw CaseFailure("out of memory");
  const std::span src(static_cast<std::byte*>(src_block.get()), size);
  const std::span dst(static_cast<std::byte*>(dst_block.get()), size);
  std::memset(src.data(), 0x5a, size);
  std::memset(dst.data(), 0, size);
  const auto pass = [&](std::chrono::nanoseconds d) {
    std::uint64_t copies = 0;
    TimeBox box(d, 1);
    do {
      ++copies;
      bulk_stamp(src, copies);
      std::memcpy(dst.data(), src.data(), size);
      // The copy's result is observed: the compiler must do all of it.
      asm volatile("" : : "r"(dst.data()) : "memory");
      bulk_check_stamps(dst, size, copies, "memcpy");
    } while (!box.expired());
    return static_cast<double>(copies * size) / static_cast<double>(now_ns() - box.start_ns());
  };
  pass(kWarmUp);  // caches, TLB, clock
  return pass(duration);
}

// --- Streams ------------------------------------------------------------------

struct BulkShared {
  BulkRound round[kBulkSizes.size()];
};

// The producers send until `timer` says so and return how many they sent.
std::uint64_t produce_copy(ByteQueue& q, std::size_t size, SpinWait& spin, ThroughputTimer& timer) {
  std::vector<std::byte> buffer(size, std::byte{0x5a});
  std::uint64_t seq = 1;
  do {
    bulk_stamp(buffer, seq);
    expect_ok(spin_while(QueueStatus::full, spin, [&] { return q.try_push(buffer); }), "producer",
              "try_push");
  } while (!timer.done(seq++));
  return seq - 1;
}

// Queue: a ByteQueue, or a BulkRingProducer (the same calls), so that shmkit
// and the bare ring differ in the transport alone.
template <class Queue>
std::uint64_t produce_in_place(Queue& q, std::size_t size, SpinWait& spin, ThroughputTimer& timer) {
  typename Queue::Reservation slot;
  std::uint64_t seq = 1;
  do {
    expect_ok(spin_while(QueueStatus::full, spin, [&] { return q.try_reserve(slot); }), "producer",
              "try_reserve");
    if (slot.data().size() < size) throw CaseFailure("producer: a reserved slot is too small");
    bulk_fill(slot.data().first(size), seq);
    slot.commit(size);
  } while (!timer.done(seq++));
  return seq - 1;
}

// The consumers return at `closed`, once the queue is drained: how many
// messages they took.
std::uint64_t consume_copy(ByteQueue& q, std::size_t size, SpinWait& spin, ThroughputClock& clock) {
  std::vector<std::byte> buffer;
  buffer.reserve(size);
  for (std::uint64_t expected = 1;; ++expected) {
    const QueueStatus s = spin_while(QueueStatus::empty, spin, [&] { return q.try_pop(buffer); });
    if (s == QueueStatus::closed) return expected - 1;
    expect_ok(s, "consumer", "try_pop");
    bulk_check_stamps(buffer, size, expected, "consumer");
    clock.on_message(expected);
  }
}

// Reads every byte in place: a consumer that read nothing would not have
// received the message (its cache lines would never have moved); one that
// reads every byte pays what any use of the data would. Queue: a ByteQueue
// or a BulkRingConsumer.
template <class Queue>
std::uint64_t consume_in_place(Queue& q, std::size_t size, SpinWait& spin, ThroughputClock& clock) {
  typename Queue::Message message;
  for (std::uint64_t expected = 1;; ++expected) {
    const QueueStatus s = spin_while(QueueStatus::empty, spin, [&] { return q.try_read(message); });
    if (s == QueueStatus::closed) return expected - 1;
    expect_ok(s, "consumer", "try_read");
    bulk_check_fill(message.data(), size, expected, "consumer");
    message.release();
    clock.on_message(expected);
  }
}

// One repetition: a stream of each of kBulkSizes in turn, for duration() / 2
// after a warm-up, between two pinned processes. For size i, role 0 opens its
// end with open_producer(i) and runs send(end, size, spin, timer), which
// returns how many it sent, then end.close(); role 1 opens its end with
// open_consumer(i) and runs receive(end, size, spin, clock), which returns
// how many it took once the stream is closed and drained. Records
// metrics::kMsgs64K and kMsgs1M under `system`.
template <class OpenProducer, class Send, class OpenConsumer, class Receive>
void run_bulk_streams(Context& ctx, const std::string& system, OpenProducer open_producer,
                      Send send, OpenConsumer open_consumer, Receive receive) {
  SharedBlock<BulkShared> block;
  BulkShared& s = *block;
  const bool shared_core = ctx.shared_core();
  const auto measure_for = std::chrono::nanoseconds(ctx.duration() / 2);
  Team team(ctx);
  team.spawn(0, [&] {
    SpinWait spin(shared_core);
    for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
      BulkRound& r = s.round[i];
      auto end = open_producer(i);
      r.start.arrive_and_wait(2, shared_core);
      ThroughputTimer timer(r.stream, measure_for, 1, kMinBulkMessages);
      r.sent = send(end, kBulkSizes[i], spin, timer);
      end.close();  // the consumer drains what is left, then sees `closed`
    }
  });
  team.spawn(1, [&] {
    SpinWait spin(shared_core);
    for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
      BulkRound& r = s.round[i];
      auto end = open_consumer(i);
      r.start.arrive_and_wait(2, shared_core);
      // Warm: every slot gone round twice (its pages faulted in, its lines
      // cached by both sides). A bulk message takes microseconds: a clock
      // read at each costs little.
      ThroughputClock clock(r.stream, 1, 2 * std::uint64_t{kBulkDepths[i]});
      r.delivered = receive(end, kBulkSizes[i], spin, clock);
      clock.finish(r.delivered + 1);
    }
  });
  team.join();
  for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
    record_bandwidth(ctx, system, kBulkSizes[i], s.round[i]);
  }
}

// --- Bare ring ------------------------------------------------------------------

// The rings of one repetition, one per size: indices here, slots in the
// block's extra bytes, the ring of size i at bulk_ring_offset(i).
struct BulkRings {
  BulkRingIndices ring[kBulkSizes.size()];
};

constexpr std::size_t bulk_ring_offset(std::size_t i) noexcept {
  std::size_t offset = 0;
  for (std::size_t j = 0; j < i; ++j) offset += kBulkDepths[j] * kBulkSizes[j];
  return offset;
}

}  // namespace

const Metric& bulk_metric(std::size_t size) {
  if (size == k64KiB) return metrics::kMsgs64K;
  if (size == k1MiB) return metrics::kMsgs1M;
  throw CaseFailure("no bulk metric for messages of " + std::to_string(size) + " bytes");
}

void bulk_stamp(std::span<std::byte> m, std::uint64_t seq) noexcept {
  store_word(m.data(), seq);
  store_word(m.data() + m.size() / 2, seq);
  store_word(m.data() + m.size() - sizeof seq, seq);
}

void bulk_check_stamps(std::span<const std::byte> m, std::size_t size, std::uint64_t expected,
                       const char* who) {
  check_size(m, size, expected, who);
  check_ends(m, expected, who);
  const std::uint64_t mid = load_word(m.data() + size / 2);
  if (mid != expected) bad_stamp(expected, "middle", mid, who);
}

void bulk_fill(std::span<std::byte> m, std::uint64_t seq) noexcept {
  std::memset(m.data(), fill_byte(seq), m.size());
  store_word(m.data(), seq);
  store_word(m.data() + m.size() - sizeof seq, seq);
}

void bulk_check_fill(std::span<const std::byte> m, std::size_t size, std::uint64_t expected,
                     const char* who) {
  check_size(m, size, expected, who);
  check_ends(m, expected, who);
  const std::uint64_t pattern = std::uint64_t{fill_byte(expected)} * 0x0101010101010101ULL;
  const std::size_t w = sizeof(std::uint64_t);
  if (mismatch(m.data() + w, size - 2 * w, pattern) != 0) {
    throw CaseFailure(std::string(who) + ": message " + std::to_string(expected) +
                      "'s payload is not all its fill byte");
  }
}

void bulk_stop(std::span<std::byte> m) noexcept { store_word(m.data(), Message64::kStop); }

bool is_bulk_stop(std::span<const std::byte> m) noexcept {
  return m.size() == kBulkStopSize && load_word(m.data()) == Message64::kStop;
}

void record_bandwidth(Context& ctx, const std::string& system, std::size_t size,
                      const ThroughputShared& s) {
  // messages per second x bytes per message / 1e9 = GB/s
  ctx.record(system, bulk_metric(size),
             messages_per_second(system, s) * static_cast<double>(size) / 1e9);
}

void record_bandwidth(Context& ctx, const std::string& system, std::size_t size,
                      const BulkRound& r) {
  if (r.delivered != r.sent) {
    throw CaseFailure(system + ": " + std::to_string(r.sent) + " messages of " +
                      std::to_string(size) + " bytes sent, " + std::to_string(r.delivered) +
                      " delivered");
  }
  record_bandwidth(ctx, system, size, r.stream);
}

void memcpy_bandwidth_rep(Context& ctx, const std::string& system) {
  SharedBlock<MemcpyShared> block;
  Team team(ctx);
  team.spawn(0, [&] {
    for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
      block->gbps[i] = memcpy_rate(kBulkSizes[i], ctx.duration() / 2);
    }
  });
  team.join();
  for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
    ctx.record(system, bulk_metric(kBulkSizes[i]), block->gbps[i]);
  }
}

void queue_bandwidth_rep(Context& ctx, const std::string& system, BulkPath path) {
  // One queue per size, max_message = the message size. Made here and let go
  // at once: each child opens its own handle.
  ScopedName small("bulk");
  ScopedName large("bulk");
  const ScopedName* names[kBulkSizes.size()] = {&small, &large};
  for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
    (void)ByteQueue::create(
        names[i]->str(),
        {.capacity = kBulkDepths[i], .max_message = static_cast<std::uint32_t>(kBulkSizes[i])});
  }
  const auto open = [&](std::size_t i) { return ByteQueue::open(names[i]->str()); };
  const bool copy = path == BulkPath::copy;
  run_bulk_streams(ctx, system, open, copy ? &produce_copy : &produce_in_place<ByteQueue>, open,
                   copy ? &consume_copy : &consume_in_place<ByteQueue>);
}

void bare_ring_bandwidth_rep(Context& ctx, const std::string& system) {
  SharedBlock<BulkRings> block(bulk_ring_offset(kBulkSizes.size()));
  const auto ring = [&](std::size_t i) {
    return BulkRing{.indices = &block->ring[i],
                    .slots = block.extra() + bulk_ring_offset(i),
                    .depth = kBulkDepths[i],
                    .size = kBulkSizes[i]};
  };
  run_bulk_streams(
      ctx, system, [&](std::size_t i) { return BulkRingProducer(ring(i)); },
      &produce_in_place<BulkRingProducer>, [&](std::size_t i) { return BulkRingConsumer(ring(i)); },
      &consume_in_place<BulkRingConsumer>);
}

}  // namespace shmkit::bench
