#pragma once

#include <chrono>
#include <string_view>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/sync/condition_state.hpp"
#include "shmkit/sync/lock_guard.hpp"
#include "shmkit/sync/mutex_state.hpp"

// Condition: a named process-shared condition variable with its own mutex
// (Python's multiprocessing.Condition). Lock it, check your predicate, wait;
// another process changes the state under the lock and notifies.
//
//   auto cond = shmkit::Condition::open_or_create("ready");
//   shmkit::LockGuard guard(cond);
//   while (!ready()) cond.wait();
//
// Waits may wake spuriously: always loop on a predicate. Death: see
// sync/condition_state.hpp; a holder's death is reported as owner_died by the
// lock and by the relock at the end of a wait. A handle is move-only; its
// operations are thread-safe.

namespace shmkit {

namespace sync {
// Shared layout of a named Condition: the mutex and the condition word.
struct ConditionPair {
  MutexState mutex;
  ConditionState condition;
};
static_assert(sizeof(ConditionPair) == 24);
static_assert(offsetof(ConditionPair, condition) == 16);
}  // namespace sync

class Condition : public detail::NamedState<sync::ConditionPair, Kind::condition> {
 public:
  static Condition create(std::string_view name, const SegmentOptions& options = {}) {
    return Condition(Segment::create(name, sizeof(State), options_for(options, state_type())));
  }
  static Condition open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::condition;
    options.type = state_type();
    return Condition(Segment::open(name, options));
  }
  static Condition open_or_create(std::string_view name, const SegmentOptions& options = {}) {
    return Condition(
        Segment::open_or_create(name, sizeof(State), options_for(options, state_type())));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  // The mutex (Lockable: use with LockGuard).
  LockResult lock() { return state().mutex.lock(); }
  LockResult try_lock() { return state().mutex.try_lock(); }
  template <class Rep, class Period>
  LockResult lock_for(std::chrono::duration<Rep, Period> timeout) {
    return state().mutex.lock_until(detail::deadline_after(timeout));
  }
  void unlock() noexcept { state().mutex.unlock(); }

  // With the mutex held: releases it, waits for a notify, relocks.
  sync::WaitResult wait() noexcept {
    return state().condition.wait_until(state().mutex, std::nullopt);
  }
  template <class Rep, class Period>
  sync::WaitResult wait_for(std::chrono::duration<Rep, Period> timeout) noexcept {
    return state().condition.wait_until(state().mutex, detail::deadline_after(timeout));
  }
  void notify_one() noexcept { state().condition.notify_one(); }
  void notify_all() noexcept { state().condition.notify_all(); }

 private:
  using State = sync::ConditionPair;
  explicit Condition(Segment segment) : NamedState(std::move(segment)) {}
};

}  // namespace shmkit
