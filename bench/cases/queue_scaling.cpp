// queue.scaling: one shmkit::ByteQueue (1024 slots of 64 B) shared by N
// producer processes and M consumer processes, for N and M in 1, 2, 4, ...
// up to the CPUs the run may use (at least 2, at most 4 with --quick, 64 at
// most: the queue's limit per role), with N + M at most the CPUs (at least 4). Records each
// configuration as system "shmkit NxM" (N producers x M consumers), metrics::kMsgs64: 64-byte
// messages consumed per second, all consumers together.
//
// Checks: each producer numbers its messages 1, 2, ...; each consumer sees
// every producer's numbers increase (the queue keeps each producer's order),
// and, summed over the consumers, each producer's count and sum of numbers
// equal what it pushed (every message delivered exactly once).
//
// Producers and consumers use the blocking push_for / pop_for (a short spin,
// then a futex sleep): configurations with more processes than CPUs still run
// well, and that is how a many-to-many queue is used. The last producer to
// finish closes the queue; consumers drain it and stop at `closed`.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/clock.hpp"
#include "harness/registry.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "shmkit/queue.hpp"
#include "workloads/message64.hpp"
#include "workloads/queue_status.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

// No progress for this long (a full queue never drained, an empty one never
// filled nor closed) is a failure, well before the harness's watchdog.
constexpr auto kStuck = std::chrono::seconds(10);
constexpr int kMaxSide = 64;  // detail::kQueueMaxParticipants
constexpr int kQuickMaxSide = 4;
// A message's seq is (producer << kProducerShift) | number, so Message64's
// check word and payload cover the producer too.
constexpr int kProducerShift = 48;
constexpr std::uint64_t kNumberMask = (std::uint64_t{1} << kProducerShift) - 1;

struct alignas(kCacheLine) ProducerResult {
  std::uint64_t pushed;  // written by its producer
};

// Written by its consumer only.
struct alignas(kCacheLine) ConsumerResult {
  // Its measured interval, which ends when it found the queue drained just
  // before `closed`. The producers run from when consumer 0 starts measuring.
  ThroughputShared stream;
  std::uint64_t count[kMaxSide];  // per producer: messages taken
  std::uint64_t sum[kMaxSide];    // per producer: sum of their numbers
};

struct ScalingShared {
  alignas(kCacheLine) StartLine start;
  alignas(kCacheLine) std::atomic<std::uint32_t> producers_done;
  ProducerResult producers[kMaxSide];
  ConsumerResult consumers[kMaxSide];
};

struct Config {
  int producers;
  int consumers;
  [[nodiscard]] std::string system() const {
    return "shmkit " + std::to_string(producers) + "x" + std::to_string(consumers);
  }
};

void produce(ByteQueue& q, int id, int producers, std::chrono::nanoseconds duration,
             ScalingShared& s) {
  const std::string who = "producer " + std::to_string(id);
  const std::uint64_t tag = static_cast<std::uint64_t>(id) << kProducerShift;
  ThroughputTimer timer(s.consumers[0].stream, duration);
  std::uint64_t n = 1;
  do {
    expect_ok(q.push_for(Message64::make(tag | n).bytes(), kStuck), who, "push_for");
  } while (!timer.done(n++));
  s.producers[id].pushed = n - 1;
  // acq_rel: the last producer to arrive sees every other producer done
  // (their pushes happen-before its close(), so none races with it).
  if (s.producers_done.fetch_add(1, std::memory_order_acq_rel) + 1 ==
      static_cast<std::uint32_t>(producers)) {
    q.close();
  }
}

// Verifies one message: a valid Message64 from a known producer, numbered
// above the last one this consumer took from that producer.
void take(const Message64& m, int producers, std::vector<std::uint64_t>& last, ConsumerResult& r,
          const std::string& who) {
  const std::uint64_t id = m.seq >> kProducerShift;
  const std::uint64_t n = m.seq & kNumberMask;
  if (!m.valid(m.seq) || id >= static_cast<std::uint64_t>(producers) || n == 0) {
    throw CaseFailure(who + ": a corrupt message (seq " + std::to_string(m.seq) + ")");
  }
  if (n <= last[id]) {
    throw CaseFailure(who + ": producer " + std::to_string(id) + "'s message " + std::to_string(n) +
                      " after its message " + std::to_string(last[id]));
  }
  last[id] = n;
  ++r.count[id];
  r.sum[id] += n;
}

void consume(ByteQueue& q, int id, int producers, ScalingShared& s) {
  const std::string who = "consumer " + std::to_string(id);
  ConsumerResult& r = s.consumers[id];
  std::vector<std::uint64_t> last(static_cast<std::size_t>(producers), 0);
  std::string buffer;
  // The clock every 64 messages until the warm-up has passed: a read per
  // message would cost a good part of a message.
  ThroughputClock clock(r.stream, 64);
  std::uint64_t taken = 0;
  for (;;) {
    QueueStatus st = q.try_pop(buffer);
    if (st == QueueStatus::empty) {
      // Drained for now: if `closed` comes next, this was the end of our
      // last message. A clock read only when there is nothing to do anyway.
      const std::int64_t idle_since = now_ns();
      st = q.pop_for(buffer, kStuck);
      if (st == QueueStatus::closed) {
        clock.finish(taken + 1, idle_since);
        return;
      }
    }
    if (st == QueueStatus::closed) {
      clock.finish(taken + 1);
      return;
    }
    expect_ok(st, who, "pop_for");
    take(Message64::from(std::as_bytes(std::span(buffer)), who.c_str()), producers, last, r, who);
    clock.on_message(++taken);
  }
}

// After join: every message delivered exactly once, and the rate over the
// span from the first consumer's start of measuring to the last one's end.
void check_and_record(Context& ctx, const Config& c, const ScalingShared& s) {
  for (int p = 0; p < c.producers; ++p) {
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    for (int k = 0; k < c.consumers; ++k) {
      count += s.consumers[k].count[p];
      sum += s.consumers[k].sum[p];
    }
    const std::uint64_t pushed = s.producers[p].pushed;
    if (count != pushed || sum != pushed * (pushed + 1) / 2) {
      throw CaseFailure(c.system() + ": producer " + std::to_string(p) + " pushed " +
                        std::to_string(pushed) + " messages, consumers took " +
                        std::to_string(count) + (count == pushed ? " (with a wrong sum)" : ""));
    }
  }
  ThroughputShared all{};
  for (int k = 0; k < c.consumers; ++k) {
    const ThroughputShared& r = s.consumers[k].stream;
    if (r.first_ns == 0) continue;  // never got past the warm-up: counts nothing
    all.first_ns = all.first_ns == 0 ? r.first_ns : std::min(all.first_ns, r.first_ns);
    all.last_ns = std::max(all.last_ns, r.last_ns);
    all.received += r.received;
  }
  record_throughput(ctx, c.system(), metrics::kMsgs64, all);
}

void scaling_rep(Context& ctx, const Config& c) {
  SharedBlock<ScalingShared> block;
  ScalingShared& s = *block;
  ScopedName name("scaling");
  (void)ByteQueue::create(name.str(), {.capacity = 1024, .max_message = sizeof(Message64)});
  const int parties = c.producers + c.consumers;
  // More processes than CPUs: the start line's spinners must yield often.
  const bool crowded = static_cast<std::size_t>(parties) > ctx.options().cpus.size();
  const auto duration = ctx.duration();
  Team team(ctx);
  // Roles: producers 0..N-1, then consumers N..N+M-1 (cycled over the CPUs).
  for (int p = 0; p < c.producers; ++p) {
    team.spawn(p, [&, p] {
      ByteQueue q = ByteQueue::open(name.str());
      s.start.arrive_and_wait(static_cast<std::uint32_t>(parties), crowded);
      produce(q, p, c.producers, duration, s);
    });
  }
  for (int k = 0; k < c.consumers; ++k) {
    team.spawn(c.producers + k, [&, k] {
      ByteQueue q = ByteQueue::open(name.str());
      s.start.arrive_and_wait(static_cast<std::uint32_t>(parties), crowded);
      consume(q, k, c.producers, s);
    });
  }
  team.join();
  check_and_record(ctx, c, s);
}

// 1, 2, 4, ... up to the CPUs (at least 2), capped.
std::vector<int> sides(const Context& ctx) {
  const int cpus = static_cast<int>(ctx.options().cpus.size());
  const int cap = ctx.quick() ? kQuickMaxSide : kMaxSide;
  const int top = std::min(std::max(cpus, 2), cap);
  std::vector<int> out;
  for (int n = 1; n <= top; n *= 2) out.push_back(n);
  return out;
}

void run(Context& ctx) {
  const std::vector<int> n = sides(ctx);
  std::vector<Variant> variants;
  std::string crowded;
  // N + M at most the CPUs (at least 4, so 2x2 always runs): past that every
  // process takes turns, and a many-core machine's run stays within minutes.
  const int budget = std::max(static_cast<int>(ctx.options().cpus.size()), 4);
  for (const int producers : n) {
    for (const int consumers : n) {
      if (producers + consumers > budget) continue;
      const Config c{producers, consumers};
      variants.push_back({c.system(), [c](Context& x, const std::string&) { scaling_rep(x, c); }});
      if (static_cast<std::size_t>(producers + consumers) > ctx.options().cpus.size()) {
        crowded += (crowded.empty() ? "" : ", ") + std::to_string(producers) + "x" +
                   std::to_string(consumers);
      }
    }
  }
  ctx.interleave(variants);
  // How the diagonal scales: N producers and N consumers against one of each.
  for (std::size_t i = 1; i < n.size() && 2 * n[i] <= budget; ++i) {
    ctx.ratio({.metric = metrics::kMsgs64.name,
               .numerator = Config{n[i], n[i]}.system(),
               .denominator = Config{1, 1}.system()});
  }
  if (!crowded.empty()) {
    ctx.note(crowded + ": more processes than CPUs (" + std::to_string(ctx.options().cpus.size()) +
             "); they take turns");
  }
}

const Registration kCase{{
    .name = "queue.scaling",
    .group = "queue",
    .description = "shmkit::ByteQueue N producers x M consumers (1, 2, 4... up to the CPUs), "
                   "64 B msgs/s, blocking push_for/pop_for",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
