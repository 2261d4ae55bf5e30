#pragma once

// A hint to the CPU that we are spinning (platform layer).

namespace shmkit::platform {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Iterations a waiter spins on a lock or word before it sleeps in the kernel:
// a few microseconds (a pause is 10-40 ns), about a futex round trip.
inline constexpr int kSpinIterations = 100;

}  // namespace shmkit::platform
