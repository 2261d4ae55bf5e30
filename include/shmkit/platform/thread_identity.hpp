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

// The calling thread's identity, packed (ProcessIdentity::pack()); never 0.
// Cached per thread, and reset in a child after fork(). The first call in a
// thread reads /proc; later calls cost a thread-local load.
std::uint64_t this_thread_word();

}  // namespace shmkit::platform
