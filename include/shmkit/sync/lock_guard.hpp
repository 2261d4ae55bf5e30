#pragma once

#include <utility>

#include "shmkit/sync/lock_result.hpp"

// LockGuard: holds a lock for a scope and says whether it was taken over from
// a dead holder. Works with anything that has `LockResult lock()` and
// `void unlock()` (shmkit::Mutex, sync::MutexState, ...). Not thread-safe:
// one guard, one thread.
//
//   shmkit::LockGuard guard(mutex);
//   if (guard.owner_died()) repair(shared_state);

namespace shmkit {

template <class Lockable>
class [[nodiscard]] LockGuard {
 public:
  explicit LockGuard(Lockable& lockable) : lockable_(&lockable), result_(lockable.lock()) {}
  LockGuard(LockGuard&& other) noexcept
      : lockable_(std::exchange(other.lockable_, nullptr)), result_(other.result_) {}
  LockGuard& operator=(LockGuard&&) = delete;
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  ~LockGuard() {
    if (lockable_ != nullptr) lockable_->unlock();
  }

  // True if the previous holder died holding the lock.
  [[nodiscard]] bool owner_died() const noexcept { return result_ == LockResult::owner_died; }
  [[nodiscard]] LockResult result() const noexcept { return result_; }

 private:
  Lockable* lockable_;
  LockResult result_;
};

}  // namespace shmkit
