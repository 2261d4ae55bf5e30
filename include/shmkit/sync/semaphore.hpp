#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/sync/semaphore_state.hpp"

// Semaphore: a named process-shared counting semaphore (Python's
// multiprocessing.Semaphore). It has no owner: a process killed between
// acquire and release takes its unit with it, and shmkit cannot give it back.
// Use a timeout where a peer may die. A handle is move-only; its operations are
// thread-safe.

namespace shmkit {

class Semaphore : public detail::NamedState<sync::SemaphoreState, Kind::semaphore> {
 public:
  static Semaphore create(std::string_view name, std::uint32_t initial,
                          const SegmentOptions& options = {}) {
    return Semaphore(Segment::create(name, sizeof(State), init_options(options, initial)));
  }
  static Semaphore open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::semaphore;
    options.type = state_type();
    return Semaphore(Segment::open(name, options));
  }
  // `initial` applies only if this call creates it.
  static Semaphore open_or_create(std::string_view name, std::uint32_t initial,
                                  const SegmentOptions& options = {}) {
    return Semaphore(Segment::open_or_create(name, sizeof(State), init_options(options, initial)));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  void acquire() noexcept { state().acquire_until(std::nullopt); }
  [[nodiscard]] bool try_acquire() noexcept { return state().try_acquire(); }
  template <class Rep, class Period>
  [[nodiscard]] bool try_acquire_for(std::chrono::duration<Rep, Period> timeout) noexcept {
    return state().acquire_until(detail::deadline_after(timeout));
  }
  // Adds n units; false if the count would exceed sync::kSemaphoreMax.
  bool release(std::uint32_t n = 1) noexcept { return state().release(n); }
  [[nodiscard]] std::uint32_t value() const noexcept { return state().value(); }

 private:
  using State = sync::SemaphoreState;
  explicit Semaphore(Segment segment) : NamedState(std::move(segment)) {
    // A count above the maximum was never stored by create() or release():
    // a buggy or hostile writer's, which would hand out units nobody gave.
    // Checked once, here; a count corrupted after open is not detected.
    const std::uint32_t count = state().value();
    if (count > sync::kSemaphoreMax) {
      throw Error(Errc::corrupt, "semaphore '" + name() + "': count " + std::to_string(count) +
                                     " exceeds the maximum " + std::to_string(sync::kSemaphoreMax));
    }
  }
  static SegmentOptions init_options(const SegmentOptions& options, std::uint32_t initial) {
    if (initial > sync::kSemaphoreMax) {
      throw Error(std::make_error_code(std::errc::invalid_argument),
                  "semaphore initial count " + std::to_string(initial) + " exceeds " +
                      std::to_string(sync::kSemaphoreMax));
    }
    return options_for(options, state_type(),
                       [initial](State& s) { s.count.store(initial, std::memory_order_relaxed); });
  }
};

}  // namespace shmkit
