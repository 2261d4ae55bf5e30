#pragma once

#include <atomic>
#include <cstdint>

#include "shmkit/platform/futex.hpp"

// Sleepers counted under a generation, in one shared word: its low bits
// (CountBits) count the threads asleep or about to sleep on some futex word, its
// high bits number the generation. A bare count cannot tell a dead sleeper's
// increment from a live one's: a thread killed asleep would stay counted, and
// every later hand-off make a wake-up call for it.
//
// The protocol (a list's readers, a mutex's lockers):
// - A sleeper join()s before its last look at the condition it waits for
//   (seq_cst: the Dekker pair of the waker's store-then-look). It reads the
//   futex word before that look, and checks dropped() after it, just before
//   it sleeps: if a new generation began it is not counted, and it joins
//   again instead of sleeping. When it stops waiting it leave()s, which
//   takes its 1 off only within the generation it joined.
// - A waker whose wake-up woke nobody may drop(): a new generation with a
//   count of 0 (the sleepers counted were about to sleep, just woken, or
//   dead). It must then move the futex word on and wake every sleeper on it
//   (drop_and_wake() does all three): a sleeper that checked dropped() just
//   before the drop read the futex word before it too, so its wait returns
//   at once; one asleep already is woken.
//
// Word is an unsigned integer type; CountBits its low bits, all ones.
namespace shmkit::platform {

template <class Word, Word CountBits>
struct WaiterGenerations {
  static constexpr Word kGeneration = CountBits + 1;

  [[nodiscard]] static Word count(Word word) noexcept { return word & CountBits; }

  // Counts the caller in the current generation; returns the word after, to
  // pass to dropped() and leave().
  static Word join(std::atomic<Word>& word) noexcept {
    return word.fetch_add(1, std::memory_order_seq_cst) + 1;
  }

  // True if a new generation began since `joined`. seq_cst: after the
  // caller's look at its condition, as the drop's CAS is before the waker's
  // move of the futex word.
  [[nodiscard]] static bool dropped(const std::atomic<Word>& word, Word joined) noexcept {
    return (word.load(std::memory_order_seq_cst) & ~CountBits) != (joined & ~CountBits);
  }

  static void leave(std::atomic<Word>& word, Word joined) noexcept {
    // Cases for each CAS: it wins (we are off the count); the count moved
    // (another sleeper: look again); a new generation began (we were dropped
    // with it: nothing to take off).
    Word now = word.load(std::memory_order_relaxed);
    while ((now & ~CountBits) == (joined & ~CountBits) && (now & CountBits) != 0 &&
           !word.compare_exchange_weak(now, now - 1, std::memory_order_relaxed)) {
    }
  }

  // A new generation with a count of 0, if any is counted (the caller then
  // moves its futex word on and wakes every sleeper: see above, and
  // drop_and_wake()).
  static void drop(std::atomic<Word>& word) noexcept {
    Word now = word.load(std::memory_order_relaxed);
    while ((now & CountBits) != 0 &&
           !word.compare_exchange_weak(now, (now & ~CountBits) + kGeneration,
                                       std::memory_order_seq_cst, std::memory_order_relaxed)) {
    }
  }

  // drop(), then the waker's part: `futex_word` moves on (adds `step`: 1 for
  // a sequence, or a bit of its own that carries out of the word) and every
  // sleeper on it wakes.
  static void drop_and_wake(std::atomic<Word>& word, std::atomic<std::uint32_t>& futex_word,
                            std::uint32_t step = 1) noexcept {
    drop(word);
    futex_word.fetch_add(step, std::memory_order_seq_cst);
    futex_wake_all(futex_word);
  }
};

}  // namespace shmkit::platform
