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

// Which words a ping-pong uses. Two words: the pinger writes i to `ping` and
// waits for i on `pong`; the ponger answers with the value it read. One word
// (`ping` for both): the pinger writes 2i - 1 and waits for 2i, the ponger
// waits for 2i - 1 and writes 2i, each into the line it has just fetched.
enum class Words { two, one };

// The two roles of a ping-pong over `Word`s; `Wait` is how a side waits for
// a word to move past `seen`.
template <class Word, class Wait, class Wake>
void run_pingpong(Context& ctx, const std::string& system, Words words, Wait wait, Wake wake) {
  constexpr Word kStop = ~Word{0};
  SharedBlock<PingPongShared<Word>> block(kRoundTripSampleBytes);
  PingPongShared<Word>& s = *block;
  std::atomic<Word>& pong = words == Words::one ? s.ping : s.pong;
  // The value the pinger writes for round i, and the ponger's answer to it;
  // in both layouts the pinger reads answer(i) - 1 until the answer comes.
  auto ask = [&](Word i) { return words == Words::one ? 2 * i - 1 : i; };
  auto answer = [&](Word i) { return words == Words::one ? 2 * i : i; };
  const bool shared_core = ctx.shared_core();
  const auto duration = ctx.duration();
  Team team(ctx);
  team.spawn(0, [&] {
    SampleBuffer samples(block.extra(), block.extra_size());
    samples.prefault();
    s.start.arrive_and_wait(2, shared_core);
    LatencySampler sampler(samples, duration, 64);
    for (Word i = 1; i < kStop / 2; ++i) {
      s.ping.store(ask(i), std::memory_order_release);
      wake(s.ping);
      for (;;) {
        const Word v = pong.load(std::memory_order_acquire);
        if (v == answer(i)) break;
        if (v != answer(i) - 1) lost("pinger", answer(i), v);
        wait(pong, v);
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
      while (v == answer(expected - 1)) {
        wait(s.ping, v);
        v = s.ping.load(std::memory_order_acquire);
      }
      if (v == kStop) break;
      if (v != ask(expected)) lost("ponger", ask(expected), v);
      pong.store(answer(expected), std::memory_order_release);
      wake(pong);
    }
  });
  team.join();
  record_round_trips(ctx, system, block.extra(), s.samples);
}

// Polls without a pause instruction: the floor, not a polite spinner.
// SpinWait is per side; it only yields if the peer has not answered for 2^16
// polls (preempted) or, on one CPU, every 64.
void cacheline_pingpong(Context& ctx, const std::string& system, Words words) {
  struct Poll {
    SpinWait spin;
    void operator()(const std::atomic<std::uint64_t>& /*word*/, std::uint64_t /*seen*/) { spin(); }
  };
  Poll poll{SpinWait(ctx.shared_core())};
  run_pingpong<std::uint64_t>(ctx, system, words, poll, [](std::atomic<std::uint64_t>&) {});
}

}  // namespace

void cacheline_pingpong_rep(Context& ctx, const std::string& system) {
  cacheline_pingpong(ctx, system, Words::two);
}

void cacheline_token_rep(Context& ctx, const std::string& system) {
  cacheline_pingpong(ctx, system, Words::one);
}

void futex_pingpong_rep(Context& ctx, const std::string& system) {
  run_pingpong<std::uint32_t>(
      ctx, system, Words::two,
      [](std::atomic<std::uint32_t>& word, std::uint32_t seen) { futex_wait(word, seen); },
      [](std::atomic<std::uint32_t>& word) { futex_wake(word); });
}

}  // namespace shmkit::bench
