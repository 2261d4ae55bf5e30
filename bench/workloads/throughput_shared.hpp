#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "harness/clock.hpp"
#include "harness/context.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "workloads/message64.hpp"

// How every stream is measured: a sender sends as fast as it can, a receiver
// verifies each message, and the receiver decides when the measured interval
// starts.
//
// - ThroughputClock, receiver side: the interval starts at the first message
//   after the warm-up (kWarmUp, and at least `warm_messages` messages) and
//   ends at the stop message. When it starts, it sets `measuring` for the
//   sender: a receiver that the machine kept off its CPU through the warm-up
//   still measures a full interval.
// - ThroughputTimer, sender side: the sender goes on until `duration` has
//   passed since `measuring` was set and it has sent at least `min_count`
//   messages since (or 4 x duration regardless, TimeBox), then sends its stop.
// - messages_per_second / record_throughput, after the processes have joined.
//
// Their defaults suit streams of small messages, which run_stream runs;
// bulk streams (workloads/bulk.hpp) pass their own.

namespace shmkit::bench {

// Messages a 64-byte stream sends at least in its measured interval.
inline constexpr std::size_t kMinStreamMessages = 1000;

// What the sender and the receiver of one stream share (zeroed).
struct ThroughputShared {
  // Written by the receiver: the measured interval and the messages in it.
  alignas(kCacheLine) std::int64_t first_ns;
  std::int64_t last_ns;
  std::uint64_t received;
  // 0 -> 1 when the receiver has started measuring; read by the sender.
  alignas(kCacheLine) std::atomic<std::uint32_t> measuring;
};

class ThroughputClock {
 public:
  // `every`: messages between clock reads until the interval starts (a read
  // per 64-byte message would cost as much as the message; 1 for bulk ones).
  explicit ThroughputClock(ThroughputShared& s, std::uint64_t every = 256,
                           std::uint64_t warm_messages = 0) noexcept
      : s_(s),
        every_(every),
        warm_messages_(warm_messages),
        warm_until_(now_ns() + std::chrono::nanoseconds(kWarmUp).count()) {}

  // Call for each verified message `seq` (1, 2, ...).
  void on_message(std::uint64_t seq) noexcept {
    if (first_seq_ != 0 || seq % every_ != 0 || seq < warm_messages_) return;
    const std::int64_t now = now_ns();
    if (now < warm_until_) return;
    first_seq_ = seq + 1;  // the interval starts as this one arrives: not counted
    s_.first_ns = now;
    // release pairs with the acquire in ThroughputTimer::done(); nothing else
    // is published by it, but the order costs nothing here.
    s_.measuring.store(1, std::memory_order_release);
  }

  // Call at the stop message; `next` is the sequence it expected next.
  void finish(std::uint64_t next) noexcept { finish(next, now_ns()); }
  // The same, where the last message before the stop arrived at `at_ns`.
  void finish(std::uint64_t next, std::int64_t at_ns) noexcept {
    s_.last_ns = at_ns;
    s_.received = first_seq_ == 0 ? 0 : next - first_seq_;  // 0: still warming up
  }

 private:
  ThroughputShared& s_;
  std::uint64_t every_;
  std::uint64_t warm_messages_;
  std::int64_t warm_until_;
  std::uint64_t first_seq_ = 0;
};

class ThroughputTimer {
 public:
  // `every`: calls between two looks at the flag, then at the clock.
  ThroughputTimer(const ThroughputShared& s, std::chrono::nanoseconds duration,
                  std::uint32_t every = 16, std::size_t min_count = kMinStreamMessages) noexcept
      : s_(s), duration_(duration), every_(every == 0 ? 1 : every), min_count_(min_count) {}

  // Call after each message (or batch) sent; `sent`: messages sent so far.
  // True when the sender should send its stop.
  bool done(std::uint64_t sent) noexcept {
    if (box_) return box_->expired(sent - since_);
    if (++calls_ < every_) return false;
    calls_ = 0;
    // The flag is written once: reading it leaves its line shared, no traffic.
    if (s_.measuring.load(std::memory_order_acquire) == 0) return false;
    box_.emplace(duration_, every_, min_count_);
    since_ = sent;
    return false;
  }

 private:
  const ThroughputShared& s_;
  std::chrono::nanoseconds duration_;
  std::uint32_t every_;
  std::size_t min_count_;
  std::uint32_t calls_ = 0;
  std::optional<TimeBox> box_;
  std::uint64_t since_ = 0;
};

// What a receiver does with each verified message besides counting it:
// nothing by default. With rounds > 0 it hashes the message's eight words
// `rounds` times (eight dependent multiply-xor steps a round), standing in
// for a consumer that works on what it gets, so that it, not the sender,
// sets the pace (queue.busy_consumer).
struct ConsumerWork {
  int rounds = 0;
  void operator()(const Message64& m) const noexcept {
    std::uint64_t words[8];
    std::memcpy(words, &m, sizeof words);
    std::uint64_t h = 0;
    for (int r = 0; r < rounds; ++r) {
      for (const std::uint64_t w : words) h = (h ^ w) * Message64::kCheckMul;
    }
    asm volatile("" : : "r"(h));  // the result is used: the loop stays
  }
};

// Sends Message64 1, 2, ... with `send` until `timer` says so, then the stop
// message.
template <class Send>
void send_stream(Send send, ThroughputTimer& timer) {
  std::uint64_t i = 1;
  do {
    send(Message64::make(i));
  } while (!timer.done(i++));
  send(Message64::make(Message64::kStop));
}

// Takes Message64s with `recv` until the stop message, verifying each,
// doing `work` on it and telling `clock`; returns the sequence number it
// expected next.
template <class Recv>
std::uint64_t receive_stream(Recv recv, ThroughputClock& clock, const char* who,
                             ConsumerWork work = {}) {
  for (std::uint64_t expected = 1;; ++expected) {
    const Message64 m = recv();
    if (m.is_stop()) return expected;
    m.verify(expected, who);
    work(m);
    clock.on_message(expected);
  }
}

// What the two processes of a stream repetition share (zeroed).
struct StreamShared {
  alignas(kCacheLine) StartLine start;
  ThroughputShared stream;
  // Written once each side's stream has ended, by run_stream: its SpinWait's
  // polls (the sender's looks that found no room, the receiver's that found
  // nothing), and the messages the receiver took, the stop not counted.
  alignas(kCacheLine) std::uint64_t sender_waits;
  std::uint64_t receiver_waits;
  std::uint64_t messages;
};

// One repetition of a stream of small messages (64 B; a List's 8-byte items)
// in two pinned processes. Each opens its end in the child (role 0: `open0()`,
// role 1: `open1()`); from a common start, role 0 runs send(end, spin, timer)
// and role 1 runs receive(end, spin, clock), which returns the sequence number
// it expected next when the stream ended. The caller records s.stream.
template <class Open0, class Send, class Open1, class Receive>
void run_stream(Context& ctx, StreamShared& s, Open0 open0, Send send, Open1 open1,
                Receive receive) {
  const bool shared_core = ctx.shared_core();
  const auto duration = ctx.duration();
  Team team(ctx);
  team.spawn(0, [&] {
    auto end = open0();
    SpinWait spin(shared_core);
    s.start.arrive_and_wait(2, shared_core);
    ThroughputTimer timer(s.stream, duration);
    send(end, spin, timer);
    s.sender_waits = spin.polls();
  });
  team.spawn(1, [&] {
    auto end = open1();
    SpinWait spin(shared_core);
    s.start.arrive_and_wait(2, shared_core);
    ThroughputClock clock(s.stream);
    const std::uint64_t next = receive(end, spin, clock);
    clock.finish(next);
    s.receiver_waits = spin.polls();
    s.messages = next - 1;
  });
  team.join();
}

// The receiver's messages per second; throws CaseFailure if it measured none.
inline double messages_per_second(const std::string& system, const ThroughputShared& s) {
  if (s.received == 0 || s.last_ns <= s.first_ns) {
    throw CaseFailure(system + ": nothing received after the warm-up");
  }
  return static_cast<double>(s.received) / static_cast<double>(s.last_ns - s.first_ns) * 1e9;
}

// Records messages_per_second as `metric` (metrics::kMsgs64, say).
inline void record_throughput(Context& ctx, const std::string& system, const Metric& metric,
                              const ThroughputShared& s) {
  ctx.record(system, metric, messages_per_second(system, s));
}

namespace metrics {
// How often a side of a spinning stream found nothing to do, per message
// (whole stream, warm-up included): which side sets the pace. A sender that
// often finds the ring full waits for its receiver; a receiver that often
// finds it empty, for its sender, and then polls the very slot being written.
inline const Metric kSenderWaits{"sender waits", "/msg", Better::lower};
inline const Metric kReceiverWaits{"receiver waits", "/msg", Better::lower};
}  // namespace metrics

// Whether a stream repetition records its waits: the queue cases do, to show
// which side sets the pace; the peer cases, whose peers poll in their own
// ways or not at all, do not.
enum class StreamWaits { skip, record };

// Records s's waits per message (metrics::kSenderWaits, kReceiverWaits), for
// a stream whose two sides poll with their SpinWait.
inline void record_stream_waits(Context& ctx, const std::string& system, const StreamShared& s) {
  const double messages = static_cast<double>(s.messages == 0 ? 1 : s.messages);
  ctx.record(system, metrics::kSenderWaits, static_cast<double>(s.sender_waits) / messages);
  ctx.record(system, metrics::kReceiverWaits, static_cast<double>(s.receiver_waits) / messages);
}

// One repetition of a 64-byte stream through a bare ring of the benchmark's
// own: Shared is zeroed, then init() if it has one, and holds a StreamShared
// `run`; Producer(Shared&) has bool try_push(const Message64&), and
// Consumer(Shared&) bool try_pop(Message64&). Both sides spin while full or
// empty; the consumer does `work` on each message. Records metrics::kMsgs64
// and the waits (record_stream_waits) under `system`.
template <class Shared, class Producer, class Consumer>
void spin_ring_throughput_rep(Context& ctx, const std::string& system, ConsumerWork work = {}) {
  SharedBlock<Shared> block;
  Shared& s = *block;
  if constexpr (requires { s.init(); }) s.init();
  run_stream(
      ctx, s.run, [&] { return Producer(s); },
      [](Producer& ring, SpinWait& spin, ThroughputTimer& timer) {
        send_stream(
            [&](const Message64& m) {
              while (!ring.try_push(m)) spin();
            },
            timer);
      },
      [&] { return Consumer(s); },
      [work](Consumer& ring, SpinWait& spin, ThroughputClock& clock) {
        auto pop = [&] {
          Message64 m{};
          while (!ring.try_pop(m)) spin();
          return m;
        };
        return receive_stream(pop, clock, "consumer", work);
      });
  record_throughput(ctx, system, metrics::kMsgs64, s.run.stream);
  record_stream_waits(ctx, system, s.run);
}

}  // namespace shmkit::bench
