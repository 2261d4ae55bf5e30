#include "harness/clock.hpp"

#include <time.h>

#include <thread>

namespace shmkit::bench {
namespace {

double g_ticks_per_ns = 1.0;

}  // namespace

void calibrate_ticks() {
#if defined(__x86_64__) || defined(__i386__)
  // Two readings of both clocks 30 ms apart; each pair is taken back to back,
  // so the error is a few tens of ns in 30 ms (about 1e-6).
  const std::int64_t ns0 = now_ns();
  const std::uint64_t t0 = ticks();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const std::int64_t ns1 = now_ns();
  const std::uint64_t t1 = ticks();
  if (ns1 > ns0 && t1 > t0) {
    g_ticks_per_ns = static_cast<double>(t1 - t0) / static_cast<double>(ns1 - ns0);
  }
#endif
}

std::int64_t thread_cpu_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double ticks_per_ns() noexcept { return g_ticks_per_ns; }

const char* ticks_source() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return "tsc";
#else
  return "steady_clock";
#endif
}

}  // namespace shmkit::bench
