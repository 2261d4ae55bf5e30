#pragma once

// Outcomes of taking a lock: routine results, not errors.

namespace shmkit {

enum class LockResult {
  acquired,    // the lock is ours
  owner_died,  // the lock is ours, taken over from a holder that died holding it:
               // the state it protects may be half-updated; repair it before use
  timed_out,   // not ours: the deadline passed
  busy,        // not ours: try_lock found it held
};

// True when the lock is now held by the caller (acquired or owner_died).
constexpr bool holds(LockResult r) noexcept {
  return r == LockResult::acquired || r == LockResult::owner_died;
}

}  // namespace shmkit
