#include "workloads/wakeup.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "harness/clock.hpp"
#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "shmkit/pipe.hpp"
#include "workloads/message64.hpp"

namespace shmkit::bench {
namespace {

// Between two messages: shmkit's receiver spins before it sleeps (at most
// platform::kChannelSpinPauses pauses, 20 to 80 us on CPUs whose pause takes
// 10 to 40 ns, and less once it has learned that its waits are long); 300 us
// leaves it asleep.
constexpr std::int64_t kGapNs = 300'000;
// Messages per repetition at most (4 bytes of sample each).
constexpr std::size_t kSampleBytes = std::size_t{1} << 20;

struct WakeupShared {
  alignas(kCacheLine) StartLine start;
  // Written by the sender just before each send; read by the receiver after
  // the receive returned (the channel's release/acquire orders the two).
  alignas(kCacheLine) std::atomic<std::int64_t> sent_ns;
  // The futex variant's word: the sequence number of the last message.
  alignas(kCacheLine) std::atomic<std::uint32_t> word;
  // Written by the receiver after each message: the sender spins on it.
  alignas(kCacheLine) std::atomic<std::uint64_t> acked;
  alignas(kCacheLine) std::uint64_t samples;  // written by the receiver at the end
  std::int64_t receiver_cpu_ns;               // the same: its CPU time in the loop
  std::uint64_t messages;                     // written by the sender at the end
};

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, &word, FUTEX_WAIT, expected, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// How one system sends message `seq` (kStop ends the run) and receives the
// next one, returning its sequence number.
struct Channel {
  std::function<void(std::uint64_t seq)> send;
  std::function<std::uint64_t()> receive;
};

// The sender's loop: gap, stamp, send, wait for the acknowledgement.
void send_all(WakeupShared& s, const Channel& channel, bool shared_core,
              std::chrono::nanoseconds duration) {
  SpinWait spin(shared_core);
  TimeBox box(duration, 1, kMinLatencySamples / 10);
  std::uint64_t seq = 1;
  for (; seq < kSampleBytes / sizeof(std::uint32_t) && !box.expired(seq); ++seq) {
    const std::int64_t gap_end = now_ns() + kGapNs;
    while (now_ns() < gap_end) spin();
    // relaxed: the send below releases it to the receiver.
    s.sent_ns.store(now_ns(), std::memory_order_relaxed);
    channel.send(seq);
    while (s.acked.load(std::memory_order_acquire) != seq) spin();
  }
  s.messages = seq - 1;
  channel.send(Message64::kStop);
}

void receive_all(WakeupShared& s, const Channel& channel, SampleBuffer& samples) {
  const std::int64_t cpu_start = thread_cpu_ns();
  for (std::uint64_t expected = 1;; ++expected) {
    const std::uint64_t seq = channel.receive();
    const std::int64_t now = now_ns();
    if (seq == Message64::kStop) break;
    if (seq != expected) {
      throw CaseFailure("receiver: expected message " + std::to_string(expected) + ", got " +
                        std::to_string(seq));
    }
    const std::int64_t sent = s.sent_ns.load(std::memory_order_relaxed);
    (void)samples.push(static_cast<std::uint64_t>(now > sent ? now - sent : 0));
    s.acked.store(seq, std::memory_order_release);
  }
  s.receiver_cpu_ns = thread_cpu_ns() - cpu_start;
  s.samples = samples.size();
}

// One repetition: sender role 0, receiver role 1. `make` builds a process's
// channel in that process (after the fork).
void run_wakeup(Context& ctx, const std::string& system, WakeupShared& s, std::byte* sample_memory,
                const std::function<Channel(int role)>& make) {
  const bool shared_core = ctx.shared_core();
  const auto duration = ctx.duration();
  Team team(ctx);
  team.spawn(0, [&] {
    const Channel channel = make(0);
    s.start.arrive_and_wait(2, shared_core);
    send_all(s, channel, shared_core, duration);
  });
  team.spawn(1, [&] {
    const Channel channel = make(1);
    SampleBuffer samples(sample_memory, kSampleBytes);
    samples.prefault();
    s.start.arrive_and_wait(2, shared_core);
    receive_all(s, channel, samples);
  });
  team.join();
  if (s.samples != s.messages) {
    throw CaseFailure(system + ": " + std::to_string(s.messages) + " messages sent, " +
                      std::to_string(s.samples) + " timed by the receiver");
  }
  auto* data = reinterpret_cast<std::uint32_t*>(sample_memory);  // NOLINT: sample array
  record_latency(ctx, system, latency_figures(data, s.samples, 1.0));
  // The stop message's wait is counted too: one more than the samples.
  ctx.record(system, kReceiverCpu,
             static_cast<double>(s.receiver_cpu_ns) / static_cast<double>(s.samples + 1));
}

}  // namespace

void futex_wakeup_rep(Context& ctx, const std::string& system) {
  SharedBlock<WakeupShared> block(kSampleBytes);
  WakeupShared& s = *block;
  run_wakeup(ctx, system, s, block.extra(), [&s](int /*role*/) {
    Channel c;
    // The word carries the low 32 bits of the sequence number; kStop's are
    // all ones, which no message of a repetition reaches.
    c.send = [&s](std::uint64_t seq) {
      s.word.store(static_cast<std::uint32_t>(seq), std::memory_order_release);
      futex_wake(s.word);
    };
    c.receive = [&s, last = std::uint32_t{0}]() mutable -> std::uint64_t {
      std::uint32_t v = s.word.load(std::memory_order_acquire);
      while (v == last) {
        futex_wait(s.word, v);
        v = s.word.load(std::memory_order_acquire);
      }
      last = v;
      return v == 0xffffffffu ? Message64::kStop : v;
    };
    return c;
  });
}

void pipe_wakeup_rep(Context& ctx, const std::string& system) {
  SharedBlock<WakeupShared> block(kSampleBytes);
  WakeupShared& s = *block;
  ScopedName name("pipe");
  (void)Pipe::create(name.str(), {.capacity = 64, .max_message = sizeof(Message64)});
  run_wakeup(ctx, system, s, block.extra(), [&name](int /*role*/) {
    // Shared by the two lambdas of this process's channel.
    struct End {
      Pipe pipe;
      std::vector<std::byte> buffer;
    };
    auto end = std::make_shared<End>(End{Pipe::open(name.str()), {}});
    end->buffer.reserve(sizeof(Message64));
    Channel c;
    c.send = [end](std::uint64_t seq) {
      const QueueStatus st = end->pipe.send(Message64::make(seq).bytes());
      if (st != QueueStatus::ok) throw CaseFailure("sender: send failed");
    };
    c.receive = [end, expected = std::uint64_t{1}]() mutable -> std::uint64_t {
      const QueueStatus st = end->pipe.recv(end->buffer);
      if (st != QueueStatus::ok) throw CaseFailure("receiver: recv failed");
      const Message64 m = Message64::from(end->buffer, "receiver");
      if (m.seq == Message64::kStop && m.valid(Message64::kStop)) return Message64::kStop;
      m.verify(expected++, "receiver");
      return m.seq;
    };
    return c;
  });
}

}  // namespace shmkit::bench
