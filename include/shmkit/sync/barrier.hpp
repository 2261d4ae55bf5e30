#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/sync/barrier_state.hpp"

// Barrier: a named reusable barrier for a fixed number of parties (Python's
// multiprocessing.Barrier). A party that dies is indistinguishable from a slow
// one: use timeouts; the first party to time out breaks the barrier for all
// (see sync/barrier_state.hpp), and reset() repairs it. A handle is move-only;
// its operations are thread-safe.

namespace shmkit {

class Barrier : public detail::NamedState<sync::BarrierState, Kind::barrier> {
 public:
  static Barrier create(std::string_view name, std::uint32_t parties,
                        const SegmentOptions& options = {}) {
    return Barrier(Segment::create(name, sizeof(State), init_options(options, parties)));
  }
  static Barrier open(std::string_view name, SegmentOptions options = {}) {
    options.kind = Kind::barrier;
    options.type = state_type();
    return Barrier(Segment::open(name, options));
  }
  // `parties` applies only if this call creates it.
  static Barrier open_or_create(std::string_view name, std::uint32_t parties,
                                const SegmentOptions& options = {}) {
    return Barrier(Segment::open_or_create(name, sizeof(State), init_options(options, parties)));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  // The party count validated at open, never the shared word (see the constructor).
  sync::BarrierResult wait() noexcept { return state().arrive_and_wait(parties_, std::nullopt); }
  template <class Rep, class Period>
  sync::BarrierResult wait_for(std::chrono::duration<Rep, Period> timeout) noexcept {
    return state().arrive_and_wait(parties_, detail::deadline_after(timeout));
  }
  void abort() noexcept { state().break_barrier(); }
  void reset() noexcept { state().reset(); }
  [[nodiscard]] bool broken() const noexcept { return state().broken(); }
  [[nodiscard]] std::uint32_t parties() const noexcept { return parties_; }

 private:
  using State = sync::BarrierState;
  explicit Barrier(Segment segment) : NamedState(std::move(segment)) {
    // Read once and checked: a corrupted count must not make every wait pass.
    parties_ = state().parties;
    if (parties_ == 0 || parties_ > kMaxParties) {
      throw Error(Errc::corrupt,
                  "barrier '" + name() + "': invalid party count " + std::to_string(parties_));
    }
  }
  static constexpr std::uint32_t kMaxParties = 0x7fffffff;
  static SegmentOptions init_options(const SegmentOptions& options, std::uint32_t parties) {
    if (parties == 0 || parties > kMaxParties) {
      throw Error(std::make_error_code(std::errc::invalid_argument),
                  "barrier parties must be 1.." + std::to_string(kMaxParties));
    }
    return options_for(options, state_type(), [parties](State& s) { s.parties = parties; });
  }
  std::uint32_t parties_ = 0;
};

}  // namespace shmkit
