#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/detail/op_lock.hpp"
#include "shmkit/sync/lock_guard.hpp"
#include "shmkit/sync/mutex_state.hpp"

// Array<T>: a named fixed-length array of trivially copyable T shared by
// processes (Python's multiprocessing.Array). Elements are zero-initialised.
// load/store/fetch_add of one element are atomic when T allows (is_lock_free),
// else they take the embedded mutex. lock() holds the mutex and gives the whole
// array as a span, for compound updates (for a lock-free T it excludes only
// other lock() holders, not the atomic operations: do not mix the two on one
// element). at() is bounds-checked
// (std::out_of_range); operator[] is the unchecked plain reference.
//
// The length is fixed at creation and validated against the object's size at
// open. Death: see Value<T>; here store() throws owner_died too (it writes
// one element, and others may be half-written). A handle is move-only; its
// operations are thread-safe.

namespace shmkit {

namespace detail {
// Shared layout of an Array<T>'s head; the elements follow at elements_offset.
struct ArrayHead {
  sync::MutexState mutex;  // for compound updates and non-lock-free T
  std::uint64_t length;    // element count; written by the creator, immutable
  std::uint64_t reserved;  // zero
};
static_assert(sizeof(ArrayHead) == 32);
static_assert(offsetof(ArrayHead, length) == 16);

template <class T>
inline constexpr std::size_t kArrayElementsOffset = std::max(kCacheLine, alignof(T));
}  // namespace detail

template <class T>
class Array : public detail::NamedState<detail::ArrayHead, Kind::array> {
  static_assert(std::is_trivially_copyable_v<T>, "Array<T> needs a trivially copyable T");
  using Base = detail::NamedState<detail::ArrayHead, Kind::array>;
  static constexpr std::size_t kOffset = detail::kArrayElementsOffset<T>;

 public:
  // NOLINTNEXTLINE(readability-identifier-naming): spelled as std::atomic's
  static constexpr bool is_lock_free = std::atomic_ref<T>::is_always_lock_free &&
                                       alignof(T) >= std::atomic_ref<T>::required_alignment;

  static Array create(std::string_view name, std::size_t length,
                      const SegmentOptions& options = {}) {
    return Array(Segment::create(name, bytes_for(length), init_options(options, length)));
  }
  static Array open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::array;
    options.type = TypeFingerprint::of<T>();
    return Array(Segment::open(name, options));
  }
  // `length` applies only if this call creates it.
  static Array open_or_create(std::string_view name, std::size_t length,
                              const SegmentOptions& options = {}) {
    return Array(Segment::open_or_create(name, bytes_for(length), init_options(options, length)));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  [[nodiscard]] std::size_t size() const noexcept { return elements_.size(); }

  // Unchecked, unsynchronised access, like a plain array.
  T& operator[](std::size_t i) const noexcept { return elements_[i]; }
  // Bounds-checked: std::out_of_range past the end.
  T& at(std::size_t i) const {
    check(i);
    return elements_[i];
  }

  [[nodiscard]] T load(std::size_t i) const {
    check(i);
    if constexpr (is_lock_free) {
      // acquire pairs with store()'s release.
      return std::atomic_ref<T>(elements_[i]).load(std::memory_order_acquire);
    } else {
      const detail::OpLock op = op_lock();
      return elements_[i];
    }
  }
  void store(std::size_t i, const T& value) {
    check(i);
    if constexpr (is_lock_free) {
      std::atomic_ref<T>(elements_[i]).store(value, std::memory_order_release);
    } else {
      const detail::OpLock op = op_lock();
      elements_[i] = value;
    }
  }
  T fetch_add(std::size_t i,
              const T& delta) requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    check(i);
    if constexpr (is_lock_free) {
      return std::atomic_ref<T>(elements_[i]).fetch_add(delta, std::memory_order_acq_rel);
    } else {
      const detail::OpLock op = op_lock();
      const T before = elements_[i];
      elements_[i] = static_cast<T>(before + delta);
      return before;
    }
  }

  // The whole array under the embedded mutex.
  class [[nodiscard]] Locked {
   public:
    Locked(detail::ArrayHead& head, std::span<T> elements)
        : guard_(head.mutex), elements_(elements) {}
    [[nodiscard]] std::span<T> span() const noexcept { return elements_; }
    T& operator[](std::size_t i) const noexcept { return elements_[i]; }
    [[nodiscard]] bool owner_died() const noexcept { return guard_.owner_died(); }

   private:
    LockGuard<sync::MutexState> guard_;
    std::span<T> elements_;
  };
  Locked lock() { return Locked(this->state(), elements_); }

 private:
  // For a T that is not lock-free (detail/op_lock.hpp). Even store() fails
  // after a holder died: it overwrites one element, and others may be
  // half-written.
  detail::OpLock op_lock() const {
    return {this->state().mutex, "array", this->name(), detail::OpLock::OnDeadHolder::fail};
  }
  explicit Array(Segment segment) : Base(std::move(segment), kOffset) {
    // Read once and checked against the mapped size: a corrupted length must
    // not let an index address memory outside the object.
    const std::uint64_t length = this->state().length;
    const std::uint64_t room = (this->segment().data().size() - kOffset) / sizeof(T);
    if (length > room) {
      throw Error(Errc::corrupt, "array '" + this->name() + "': length " + std::to_string(length) +
                                     " exceeds its " + std::to_string(room) + "-element area");
    }
    auto* first = reinterpret_cast<T*>(this->segment().data().data() + kOffset);  // NOLINT
    elements_ = std::span<T>(first, static_cast<std::size_t>(length));
  }
  void check(std::size_t i) const {
    if (i >= elements_.size()) {
      throw std::out_of_range("array '" + this->name() + "': index " + std::to_string(i) +
                              " out of range (size " + std::to_string(elements_.size()) + ")");
    }
  }
  static std::uint64_t bytes_for(std::size_t length) {
    if (length == 0 || length > (detail::kMaxDataSize - kOffset) / sizeof(T)) {
      throw Error(std::make_error_code(std::errc::invalid_argument),
                  "array length " + std::to_string(length) + " is out of range");
    }
    return kOffset + std::uint64_t{length} * sizeof(T);
  }
  static SegmentOptions init_options(const SegmentOptions& options, std::size_t length) {
    return Base::options_for(options, TypeFingerprint::of<T>(),
                             [length](detail::ArrayHead& h) { h.length = length; });
  }
  std::span<T> elements_;
};

}  // namespace shmkit
