#pragma once

#include <chrono>
#include <string_view>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/sync/lock_guard.hpp"
#include "shmkit/sync/mutex_state.hpp"

// Mutex: a named process-shared mutex that survives a holder being killed.
// When the holder dies (SIGKILL at any instruction, or its thread exits while
// holding it), the next locker takes it over within sync::kDeadOwnerCheck and
// gets LockResult::owner_died instead of acquired: the lock is then held, and
// the data it protects may be half-updated, so repair it before use. Nothing
// else is lost, and the mutex stays usable (no "not recoverable" state).
//
// The holder is a thread: lock and unlock on the same thread, no recursion.
// A handle is move-only and may be shared by the threads of its process.
//
//   auto m = shmkit::Mutex::open_or_create("jobs");
//   shmkit::LockGuard guard(m);
//   if (guard.owner_died()) repair();

namespace shmkit {

class Mutex : public detail::NamedState<sync::MutexState, Kind::mutex> {
 public:
  static Mutex create(std::string_view name, const SegmentOptions& options = {}) {
    return Mutex(Segment::create(name, sizeof(State), options_for(options, state_type())));
  }
  static Mutex open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::mutex;
    options.type = state_type();
    return Mutex(Segment::open(name, options));
  }
  static Mutex open_or_create(std::string_view name, const SegmentOptions& options = {}) {
    return Mutex(Segment::open_or_create(name, sizeof(State), options_for(options, state_type())));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  // Blocks until held: acquired or owner_died. A thread's first lock reads
  // its identity from /proc, and throws shmkit::Error (with the errno) if it
  // cannot, out of file descriptors say; nothing else throws, here or below.
  LockResult lock() { return state().lock(); }
  // acquired or owner_died, else busy at once.
  LockResult try_lock() { return state().try_lock(); }
  // acquired, owner_died or timed_out.
  template <class Rep, class Period>
  LockResult lock_for(std::chrono::duration<Rep, Period> timeout) {
    return state().lock_until(detail::deadline_after(timeout));
  }
  LockResult lock_until(std::chrono::steady_clock::time_point deadline) {
    return state().lock_until(deadline);
  }
  void unlock() noexcept { state().unlock(); }

 private:
  using State = sync::MutexState;
  explicit Mutex(Segment segment) : NamedState(std::move(segment)) {}
};

}  // namespace shmkit
