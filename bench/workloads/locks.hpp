#pragma once

#include <string>

#include "harness/context.hpp"

// Lock workloads, each one repetition in pinned processes, for a shmkit::Mutex
// (a named object, so each process maps its segment) or for the baseline a
// process-shared robust pthread_mutex_t (PTHREAD_PROCESS_SHARED +
// PTHREAD_MUTEX_ROBUST, the closest POSIX has to shmkit's guarantees) in a
// shmkit SharedMemory segment. Both are fresh for each repetition.

namespace shmkit::bench {

enum class LockKind { shmkit, pthread };

namespace metrics {
inline const Metric kLockUnlock{"lock+unlock", "ns/op", Better::lower};
// CPU time instead of wall time: what a busy machine's preemptions do not inflate.
inline const Metric kLockUnlockCpu{"lock+unlock cpu", "ns/op", Better::lower};
inline const Metric kOpsPerSecond{"ops/s", "op/s", Better::higher};
inline const Metric kHandoffsPer1000{"owner changes", "/1000op", Better::higher};
}  // namespace metrics

// One process: lock; ++counter; unlock, for the duration. Records kLockUnlock
// and kLockUnlockCpu.
void mutex_uncontended_rep(Context& ctx, const std::string& system, LockKind kind);

// Two processes, each lock; ++counter; unlock in a loop for the duration. The
// counter must equal the sum of both processes' operations, exactly. Records
// kLockUnlock (wall time / total operations), kOpsPerSecond and
// kHandoffsPer1000 (how often the lock changed process: fairness).
void mutex_contended_rep(Context& ctx, const std::string& system, LockKind kind);

// The lock passes back and forth between two processes; the receiver is
// waiting in lock() when the holder unlocks. Records metrics::kOneWay*: the
// time from just before unlock() to the return of the receiver's lock().
// `asleep` false: the holder unlocks as soon as the receiver has called lock()
// (it is spinning, if the lock spins); true: the holder first waits 100 us, so
// the receiver is asleep in the kernel and this is the wake-up path.
void mutex_handoff_rep(Context& ctx, const std::string& system, LockKind kind, bool asleep);

}  // namespace shmkit::bench
