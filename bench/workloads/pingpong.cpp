#include "workloads/pingpong.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"

namespace shmkit::bench {
namespace {

template <class Word>
struct PingPongShared {
  alignas(kCacheLine) StartLine start;
  alignas(kCacheLine) std::atomic<Word> ping;  // written by role 0 only
  alignas(kCacheLine) std::atomic<Word> pong;  // written by role 1 only
  alignas(kCacheLine) std::uint64_t samples;   // written by role 0 at the end
};

[[noreturn]] void lost(const char* who, std::uint64_t expected, std::uint64_t got) {
  throw CaseFailure(std::string(who) + " expected sequence " + std::to_string(expected) +
                    ", read " + std::to_string(got));
}

// Raw futex calls (not shmkit::platform's): a floor must not depend on the
// code it is the floor for. Shared futexes: no FUTEX_PRIVATE_FLAG.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  ::syscall(SYS_futex, &word, FUTEX_WAIT, expected, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// The two roles of a ping-pong over `Word`s; `Wait` is how a side waits for
// the other's word to move past `seen`.
template <class Word, class Wait, class Wake>
void run_pingpong(Context& ctx, const std::string& system, Wait wait, Wake wake) {
  constexpr Word kStop = ~Word{0};
  SharedBlock<PingPongShared<Word>> block(kRoundTripSampleBytes);
  PingPongShared<Word>& s = *block;
  const bool shared_core = ctx.shared_core();
  const auto duration = ctx.duration();
  Team team(ctx);
  team.spawn(0, [&] {
    SampleBuffer samples(block.extra(), block.extra_size());
    samples.prefault();
    s.start.arrive_and_wait(2, shared_core);
    LatencySampler sampler(samples, duration, 64);
    for (Word i = 1; i < kStop; ++i) {
      s.ping.store(i, std::memory_order_release);
      wake(s.ping);
      for (;;) {
        const Word v = s.pong.load(std::memory_order_acquire);
        if (v == i) break;
        if (v != i - 1) lost("pinger", i, v);
        wait(s.pong, v);
      }
      if (!sampler.lap()) break;
    }
    s.samples = samples.size();
    s.ping.store(kStop, std::memory_order_release);
    wake(s.ping);
  });
  team.spawn(1, [&] {
    s.start.arrive_and_wait(2, shared_core);
    for (Word expected = 1;; ++expected) {
      Word v = s.ping.load(std::memory_order_acquire);
      while (v == expected - 1) {
        wait(s.ping, v);
        v = s.ping.load(std::memory_order_acquire);
      }
      if (v == kStop) break;
      if (v != expected) lost("ponger", expected, v);
      s.pong.store(v, std::memory_order_release);
      wake(s.pong);
    }
  });
  team.join();
  record_round_trips(ctx, system, block.extra(), s.samples);
}

}  // namespace

void cacheline_pingpong_rep(Context& ctx, const std::string& system) {
  // Polls without a pause instruction: the floor, not a polite spinner.
  // SpinWait is per side; it only yields if the peer has not answered for
  // 2^16 polls (preempted) or, on one CPU, every 64.
  struct Poll {
    SpinWait spin;
    void operator()(const std::atomic<std::uint64_t>& /*word*/, std::uint64_t /*seen*/) { spin(); }
  };
  Poll poll{SpinWait(ctx.shared_core())};
  run_pingpong<std::uint64_t>(ctx, system, poll, [](std::atomic<std::uint64_t>&) {});
}

void futex_pingpong_rep(Context& ctx, const std::string& system) {
  run_pingpong<std::uint32_t>(
      ctx, system,
      [](std::atomic<std::uint32_t>& word, std::uint32_t seen) { futex_wait(word, seen); },
      [](std::atomic<std::uint32_t>& word) { futex_wake(word); });
}

}  // namespace shmkit::bench
