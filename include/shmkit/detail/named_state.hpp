#pragma once

#include <chrono>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "shmkit/detail/printable.hpp"
#include "shmkit/error.hpp"
#include "shmkit/platform/futex.hpp"
#include "shmkit/segment.hpp"

// The common part of the named objects whose kind's area starts with one
// layout struct `State` (Mutex, Event, Value<T>...): a Segment of kind K, the
// State at the start of its data area, and the creation/open plumbing.

namespace shmkit::detail {

// Timeouts at least this long wait forever: converted to the clock's
// nanoseconds they could overflow (seconds::max() would wrap to the past).
inline constexpr std::chrono::hours kForeverTimeout{24 * 365 * 100};

// A steady-clock deadline `timeout` from now; nullopt (no deadline) for a
// timeout of kForeverTimeout or more. A negative timeout is a deadline now.
template <class Rep, class Period>
platform::Deadline deadline_after(std::chrono::duration<Rep, Period> timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (timeout <= timeout.zero()) return now;
  // Compared in floating seconds, which cannot overflow for any Rep.
  if (std::chrono::duration<double>(timeout) >= std::chrono::duration<double>(kForeverTimeout)) {
    return std::nullopt;
  }
  return now + std::chrono::ceil<std::chrono::steady_clock::duration>(timeout);
}

template <class State, Kind K>
class NamedState {
 public:
  [[nodiscard]] const Segment& segment() const noexcept { return segment_; }
  [[nodiscard]] const std::string& name() const noexcept { return segment_.name(); }
  // The shared state itself, for embedding code and tools.
  [[nodiscard]] State& state() const noexcept { return *state_; }

 protected:
  explicit NamedState(Segment segment, std::size_t min_size = sizeof(State))
      : segment_(std::move(segment)) {
    if (segment_.data().size() < min_size) {
      throw Error(Errc::corrupt, "object '" + segment_.name() + "': its data area (" +
                                     std::to_string(segment_.data().size()) +
                                     " bytes) is too small for " +
                                     detail::with_article(kind_name(K)));
    }
    state_ =
        std::launder(reinterpret_cast<State*>(segment_.data().data()));  // NOLINT: mapped layout
  }

  // `options` with this kind and type recorded, and `init(State&)` run on a
  // value-initialised State before the object is published.
  template <class Init>
  static SegmentOptions options_for(SegmentOptions options, const TypeFingerprint& type,
                                    Init init) {
    options.kind = K;
    options.type = type;
    options.initialize = [init = std::move(init)](std::span<std::byte> data) {
      State* state = ::new (data.data()) State{};
      init(*state);
    };
    return options;
  }

  static SegmentOptions options_for(SegmentOptions options, const TypeFingerprint& type) {
    return options_for(options, type, [](State&) {});
  }

  // The fingerprint a kind with no element type records: the State itself.
  static TypeFingerprint state_type() {
    return TypeFingerprint::make(sizeof(State), alignof(State), kind_name(K));
  }

 private:
  Segment segment_;
  State* state_ = nullptr;
};

}  // namespace shmkit::detail
