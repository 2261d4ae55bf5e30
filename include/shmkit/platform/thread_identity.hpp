#pragma once

#include <cstdint>

#include "shmkit/platform/process.hpp"

// The identity of the calling thread, for lock ownership (platform layer).
//
// A lock is owned by a thread, so that a thread that exits while holding one is
// detected like a killed process. A thread id is a pid in Linux's numbering
// (/proc/TID/stat exists for it), so a thread's identity is a ProcessIdentity
// whose pid is the thread id and whose start time is the thread's: is_alive()
// works on it unchanged, and a reused thread id is not mistaken for the dead one.

namespace shmkit::platform {

// gettid(): the calling thread's id.
std::int32_t current_tid() noexcept;

namespace thread_word_cache {
// this_thread_word()'s cache: 0 until the thread's first call, and again in a
// child after fork(). Written only by its own thread.
extern thread_local constinit std::uint64_t t_this_thread_word;
std::uint64_t read_this_thread_word();  // reads /proc, fills the cache
}  // namespace thread_word_cache

// The calling thread's identity, packed (ProcessIdentity::pack()); never 0.
// Cached per thread, and reset in a child after fork(). The first call in a
// thread reads /proc; later calls cost a thread-local load, inline: lock and
// queue fast paths call it on every operation.
inline std::uint64_t this_thread_word() {
  const std::uint64_t word = thread_word_cache::t_this_thread_word;
  return word != 0 ? word : thread_word_cache::read_this_thread_word();
}

// this_thread_word() if the thread has read it already, else 0: for a hit
// path that must make no call (it falls back to this_thread_word()).
inline std::uint64_t cached_this_thread_word() noexcept {
  return thread_word_cache::t_this_thread_word;
}

}  // namespace shmkit::platform
