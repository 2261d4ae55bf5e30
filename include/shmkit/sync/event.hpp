#pragma once

#include <chrono>
#include <string_view>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/sync/event_state.hpp"

// Event: a named process-shared flag (Python's multiprocessing.Event): set()
// wakes every waiter, wait() returns at once while it is set, clear() resets.
// A process killed at any point leaves the flag as it was. A handle is
// move-only; its operations are thread-safe.

namespace shmkit {

class Event : public detail::NamedState<sync::EventState, Kind::event> {
 public:
  static Event create(std::string_view name, const SegmentOptions& options = {}) {
    return Event(Segment::create(name, sizeof(State), options_for(options, state_type())));
  }
  static Event open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::event;
    options.type = state_type();
    return Event(Segment::open(name, options));
  }
  static Event open_or_create(std::string_view name, const SegmentOptions& options = {}) {
    return Event(Segment::open_or_create(name, sizeof(State), options_for(options, state_type())));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  void set() noexcept { state().set(); }
  void clear() noexcept { state().clear(); }
  [[nodiscard]] bool is_set() const noexcept { return state().is_set(); }
  void wait() noexcept { state().wait_until(std::nullopt); }
  // True if set within `timeout`.
  template <class Rep, class Period>
  [[nodiscard]] bool wait_for(std::chrono::duration<Rep, Period> timeout) noexcept {
    return state().wait_until(detail::deadline_after(timeout));
  }

 private:
  using State = sync::EventState;
  explicit Event(Segment segment) : NamedState(std::move(segment)) {}
};

}  // namespace shmkit
