#pragma once

#include <string>
#include <string_view>

#include "shmkit/error.hpp"
#include "shmkit/sync/mutex_state.hpp"

// OpLock: holds the embedded mutex of a Value<T> or Array<T> for one of its
// operations on a T that is not lock-free (load, store, exchange, ...).
//
// A holder killed in the middle of such an operation, or of a lock() scope,
// may have left the data half-written. The operation then does not use it:
// it throws Error(Errc::owner_died) and releases the mutex unrepaired
// (MutexState::unlock_unrepaired()), so that every later operation throws
// too, until a lock() holder, told owner_died, repairs the data. An operation
// that overwrites all the data (Value<T>::store) repairs it instead: it goes
// on, and releases the mutex as usual.

namespace shmkit::detail {

class [[nodiscard]] OpLock {
 public:
  enum class OnDeadHolder {
    fail,       // throw: the data may be half-written
    overwrite,  // go on: this operation writes every byte of the data
  };

  // `kind` and `name` name the object in the error ("value", "stats").
  OpLock(sync::MutexState& mutex, std::string_view kind, const std::string& name,
         OnDeadHolder on_dead_holder)
      : mutex_(mutex) {
    if (mutex_.lock() == LockResult::owner_died && on_dead_holder == OnDeadHolder::fail) {
      mutex_.unlock_unrepaired();
      throw Error(Errc::owner_died,
                  std::string(kind) + " '" + name +
                      "': a process died holding its lock, maybe halfway through writing "
                      "it; lock() it and repair it (the lock reports owner_died)");
    }
  }
  OpLock(const OpLock&) = delete;
  OpLock& operator=(const OpLock&) = delete;
  ~OpLock() { mutex_.unlock(); }

 private:
  sync::MutexState& mutex_;
};

}  // namespace shmkit::detail
