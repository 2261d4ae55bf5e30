#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/detail/op_lock.hpp"
#include "shmkit/sync/lock_guard.hpp"
#include "shmkit/sync/mutex_state.hpp"

// Value<T>: one named value of a trivially copyable T shared by processes
// (Python's multiprocessing.Value). load/store/exchange/compare_exchange, and
// fetch_add for arithmetic T, are single atomic instructions when T allows
// (is_lock_free), else they take the embedded mutex. For compound updates,
// hold the mutex (for a lock-free T, lock() excludes only other lock()
// holders: the atomic operations do not take it, so do not mix the two on
// one value):
//
//   auto v = shmkit::Value<Stats>::open_or_create("stats");
//   {
//     auto guard = v.lock();          // Value<T>::Locked
//     guard->count += 1;              // plain access under the lock
//   }
//
// Death: a process killed holding the lock makes the next lock() report
// owner_died (see Mutex). Lock-free operations cannot be interrupted half-way.
// The others hold the lock: one killed in the middle may leave the value
// half-written, and the operations after it throw Errc::owner_died (store()
// overwrites it instead) until a lock() holder, told owner_died, repairs it.
// A handle is move-only; its operations are thread-safe.

namespace shmkit {

namespace detail {
// Shared layout of a Value<T>: the mutex, then the value on the next cache line.
template <class T>
struct ValueLayout {
  sync::MutexState mutex;  // held for compound updates and non-lock-free T
  alignas(std::max(kCacheLine, alignof(T))) T value;  // written by any process
};
}  // namespace detail

template <class T>
class Value : public detail::NamedState<detail::ValueLayout<T>, Kind::value> {
  static_assert(std::is_trivially_copyable_v<T>, "Value<T> needs a trivially copyable T");
  using Base = detail::NamedState<detail::ValueLayout<T>, Kind::value>;
  using Layout = detail::ValueLayout<T>;

 public:
  // True if the atomic operations need no lock.
  // NOLINTNEXTLINE(readability-identifier-naming): spelled as std::atomic's
  static constexpr bool is_lock_free = std::atomic_ref<T>::is_always_lock_free &&
                                       alignof(T) >= std::atomic_ref<T>::required_alignment;

  static Value create(std::string_view name, const T& initial = T{},
                      const SegmentOptions& options = {}) {
    return Value(Segment::create(name, sizeof(Layout), init_options(options, initial)));
  }
  static Value open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::value;
    options.type = TypeFingerprint::of<T>();
    return Value(Segment::open(name, options));
  }
  // `initial` applies only if this call creates it.
  static Value open_or_create(std::string_view name, const T& initial = T{},
                              const SegmentOptions& options = {}) {
    return Value(Segment::open_or_create(name, sizeof(Layout), init_options(options, initial)));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  // For a T that is not lock-free, the operations below take the embedded
  // mutex, and throw Error(Errc::owner_died) if a process died holding it,
  // maybe leaving the value half-written (detail/op_lock.hpp); store()
  // overwrites it instead. Lock-free, they never throw.
  [[nodiscard]] T load() const noexcept(is_lock_free) {
    if constexpr (is_lock_free) {
      // acquire pairs with store()'s release: what the storer wrote before is visible.
      return std::atomic_ref<T>(layout().value).load(std::memory_order_acquire);
    } else {
      const detail::OpLock op = op_lock(kFail);
      return layout().value;
    }
  }
  void store(const T& desired) noexcept(is_lock_free) {
    if constexpr (is_lock_free) {
      std::atomic_ref<T>(layout().value).store(desired, std::memory_order_release);
    } else {
      const detail::OpLock op = op_lock(detail::OpLock::OnDeadHolder::overwrite);
      layout().value = desired;
    }
  }
  T exchange(const T& desired) noexcept(is_lock_free) {
    if constexpr (is_lock_free) {
      return std::atomic_ref<T>(layout().value).exchange(desired, std::memory_order_acq_rel);
    } else {
      const detail::OpLock op = op_lock(kFail);
      return std::exchange(layout().value, desired);
    }
  }
  // If the value equals `expected` (bytewise for non-lock-free T), replaces it.
  // Otherwise loads the current value into `expected`.
  bool compare_exchange(T& expected, const T& desired) noexcept(is_lock_free) {
    if constexpr (is_lock_free) {
      return std::atomic_ref<T>(layout().value)
          .compare_exchange_strong(expected, desired, std::memory_order_acq_rel,
                                   std::memory_order_acquire);
    } else {
      const detail::OpLock op = op_lock(kFail);
      if (std::memcmp(&layout().value, &expected, sizeof(T)) == 0) {
        layout().value = desired;
        return true;
      }
      expected = layout().value;
      return false;
    }
  }
  // Adds `delta`; returns the previous value. For arithmetic T other than bool
  // (std::atomic_ref<bool> has no fetch_add).
  T fetch_add(const T& delta) noexcept(is_lock_free) requires(std::is_arithmetic_v<T> &&
                                                              !std::is_same_v<T, bool>) {
    if constexpr (is_lock_free && (std::is_integral_v<T> || std::is_floating_point_v<T>)) {
      return std::atomic_ref<T>(layout().value).fetch_add(delta, std::memory_order_acq_rel);
    } else {
      const detail::OpLock op = op_lock(kFail);
      const T before = layout().value;
      layout().value = static_cast<T>(before + delta);
      return before;
    }
  }

  // The value under the embedded mutex, for compound updates.
  class [[nodiscard]] Locked {
   public:
    explicit Locked(Layout& layout) : guard_(layout.mutex), value_(&layout.value) {}
    T& operator*() const noexcept { return *value_; }
    T* operator->() const noexcept { return value_; }
    // True if the previous holder died holding the lock: repair the value.
    [[nodiscard]] bool owner_died() const noexcept { return guard_.owner_died(); }

   private:
    LockGuard<sync::MutexState> guard_;
    T* value_;
  };
  Locked lock() { return Locked(layout()); }

 private:
  explicit Value(Segment segment) : Base(std::move(segment)) {}
  Layout& layout() const noexcept { return this->state(); }
  static constexpr auto kFail = detail::OpLock::OnDeadHolder::fail;
  detail::OpLock op_lock(detail::OpLock::OnDeadHolder on_dead_holder) const {
    return {layout().mutex, "value", this->name(), on_dead_holder};
  }
  static SegmentOptions init_options(const SegmentOptions& options, const T& initial) {
    return Base::options_for(options, TypeFingerprint::of<T>(),
                             [initial](Layout& l) { l.value = initial; });
  }
};

}  // namespace shmkit
