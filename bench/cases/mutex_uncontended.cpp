// mutex.uncontended: shmkit::Mutex lock + unlock with no other process
// competing, beside a robust process-shared pthread mutex, interleaved.
// Issue 3's goal: no slower than pthread's.

#include "harness/registry.hpp"
#include "workloads/locks.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { mutex_uncontended_rep(c, s, LockKind::shmkit); }},
      {"pthread",
       [](Context& c, const std::string& s) { mutex_uncontended_rep(c, s, LockKind::pthread); }},
  });
  for (const Metric* m : {&metrics::kLockUnlock, &metrics::kLockUnlockCpu}) {
    ctx.ratio({.metric = m->name,
               .numerator = "shmkit",
               .denominator = "pthread",
               .goal_at_most = 1.0,
               .goal_source = "issue 3"});
  }
}

const Registration kCase{{
    .name = "mutex.uncontended",
    .group = "mutex",
    .description = "1 process: lock; ++counter; unlock (shmkit::Mutex vs robust pshared pthread)",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
