#pragma once

#include <atomic>
#include <cstdint>

// Asymmetric memory fences between processes, from membarrier(2).
//
// A Dekker-style hand-off (one side stores its data and then loads the
// other's "I am going to sleep" flag; the other stores the flag and then
// loads the data) needs a full fence between the store and the load on both
// sides, on every message. On x86 that fence waits for the store to reach the
// cache, which for a line the peer has just read is a cross-core round trip.
// With membarrier the busy side uses no fence at all (only a compiler
// barrier), and the side about to sleep, which is about to make a system
// call anyway, calls remote_fence(): the kernel makes every thread of every
// registered process run a full barrier, so either the busy side's store is
// visible to the sleeper's re-check, or the busy side's load sees the flag.
//
// A process is registered by the first call to light_fences(), and again in
// a forked child (registration is per address space and a child starts
// without it). Where membarrier is missing or refused (old kernels, seccomp),
// light_fences() is false and callers use seq_cst operations instead.

namespace shmkit::platform {

namespace light_fence_registration {
enum class State : int { unknown, registered, unavailable };
// This process's registration: set by light_fences()'s first call
// (register_now()), and again in a forked child; read by every
// light_fences().
extern constinit std::atomic<State> state;
// light_fences()'s first call: registers, and says whether it could.
bool register_now() noexcept;
}  // namespace light_fence_registration

// True if this process is registered, so that its threads may pair a plain
// store-then-load with a peer's remote_fence(). Registers on the first call.
// Inline: every commit and release of a queue and every message of a pipe,
// each way, ask; a call into the library cost a call, a return and eight
// instructions each time, for one load. callgrind, one thread sending and
// receiving 200,000 messages of 64 bytes: a pipe 41.0 -> 37.6 M
// instructions (17 fewer per message), a queue 99.6 -> 98.2 M (7 fewer).
inline bool light_fences() noexcept {
  using light_fence_registration::State;
  // acquire pairs with the registration's store: registered before used.
  const State state = light_fence_registration::state.load(std::memory_order_acquire);
  if (state == State::unknown) [[unlikely]] {
    return light_fence_registration::register_now();
  }
  return state == State::registered;
}

// A full memory barrier on every running thread of every registered process
// (MEMBARRIER_CMD_GLOBAL_EXPEDITED). False if the kernel refused it.
bool remote_fence() noexcept;

// Tests only: from now on light_fences() is false in this process, so the
// seq_cst fallback is exercised.
void disable_light_fences_for_testing() noexcept;

// The busy side of such a hand-off: publish `value` in `word` (release: what
// it announces is written first), then say whether `waiting` shows a waiter
// (any of its `mask` bits set).
// Light: a plain store and load, kept in this order by a compiler barrier,
// the waiter's remote_fence() supplying the CPU fence. Else seq_cst both.
template <class Waiting>
inline bool publish_then_look(std::atomic<std::uint64_t>& word, std::uint64_t value,
                              const std::atomic<Waiting>& waiting, bool light,
                              Waiting mask = static_cast<Waiting>(~Waiting{0})) noexcept {
  if (light) {
    word.store(value, std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    return (waiting.load(std::memory_order_relaxed) & mask) != 0;
  }
  word.store(value, std::memory_order_seq_cst);
  return (waiting.load(std::memory_order_seq_cst) & mask) != 0;
}

}  // namespace shmkit::platform
