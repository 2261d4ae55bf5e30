// shmkit-micro-bench: single-process costs of the sync layer's fast paths
// (Google Benchmark), for spotting regressions between commits. The states
// live in ordinary memory here: the fast paths are the same atomics either
// way, and no other process is involved. Pinned to one CPU (the first usable,
// or $SHMKIT_BENCH_CPU), recorded in the context. Never gate CI on these.

#include <pthread.h>
#include <sched.h>

#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "shmkit/sync/event_state.hpp"
#include "shmkit/sync/mutex_state.hpp"
#include "shmkit/sync/semaphore_state.hpp"

namespace {

using shmkit::LockResult;

// One state per benchmark, on its own cache line, zero-initialised (= the
// state a fresh segment gives it).
template <class State>
struct alignas(64) Slot {
  State state{};
};

void BM_MutexState_LockUnlock(benchmark::State& bench) {
  Slot<shmkit::sync::MutexState> m;
  (void)m.state.lock();  // first lock reads /proc for the thread identity
  m.state.unlock();
  for (auto _ : bench) {
    const LockResult r = m.state.lock();
    benchmark::DoNotOptimize(r);
    m.state.unlock();
  }
}
BENCHMARK(BM_MutexState_LockUnlock);

void BM_MutexState_TryLockUnlock(benchmark::State& bench) {
  Slot<shmkit::sync::MutexState> m;
  for (auto _ : bench) {
    const LockResult r = m.state.try_lock();
    benchmark::DoNotOptimize(r);
    m.state.unlock();
  }
}
BENCHMARK(BM_MutexState_TryLockUnlock);

// The baseline of the cross-process bench: a robust process-shared pthread
// mutex, in ordinary memory too.
void BM_PthreadRobust_LockUnlock(benchmark::State& bench) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_t m;
  pthread_mutex_init(&m, &attr);
  pthread_mutexattr_destroy(&attr);
  for (auto _ : bench) {
    benchmark::DoNotOptimize(pthread_mutex_lock(&m));
    pthread_mutex_unlock(&m);
  }
  pthread_mutex_destroy(&m);
}
BENCHMARK(BM_PthreadRobust_LockUnlock);

void BM_SemaphoreState_ReleaseTryAcquire(benchmark::State& bench) {
  Slot<shmkit::sync::SemaphoreState> s;
  for (auto _ : bench) {
    benchmark::DoNotOptimize(s.state.release());
    benchmark::DoNotOptimize(s.state.try_acquire());
  }
  if (s.state.value() != 0) bench.SkipWithError("count drifted");
}
BENCHMARK(BM_SemaphoreState_ReleaseTryAcquire);

void BM_EventState_SetClear(benchmark::State& bench) {
  Slot<shmkit::sync::EventState> e;
  for (auto _ : bench) {
    e.state.set();
    e.state.clear();
  }
  benchmark::DoNotOptimize(e.state.is_set());
}
BENCHMARK(BM_EventState_SetClear);

void BM_EventState_IsSet(benchmark::State& bench) {
  Slot<shmkit::sync::EventState> e;
  e.state.set();
  for (auto _ : bench) benchmark::DoNotOptimize(e.state.is_set());
}
BENCHMARK(BM_EventState_IsSet);

// Pins the process to one CPU; returns it, or -1.
int pin() {
  int cpu = -1;
  if (const char* env = std::getenv("SHMKIT_BENCH_CPU")) {
    cpu = std::atoi(env);
  } else {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE && cpu < 0; ++c) {
        if (CPU_ISSET(c, &set)) cpu = c;
      }
    }
  }
  if (cpu < 0) return -1;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(0, sizeof one, &one) == 0 ? cpu : -1;
}

}  // namespace

int main(int argc, char** argv) {
  const int cpu = pin();
  benchmark::AddCustomContext("pinned_cpu", cpu >= 0 ? std::to_string(cpu) : "none");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
