// mutex.contended: two processes on two CPUs hammer one lock; the shared
// counter must come out exact. Issue 3's goal: within 1.5x of pthread's.

#include "harness/registry.hpp"
#include "workloads/locks.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { mutex_contended_rep(c, s, LockKind::shmkit); }},
      {"pthread",
       [](Context& c, const std::string& s) { mutex_contended_rep(c, s, LockKind::pthread); }},
  });
  ctx.ratio({.metric = metrics::kLockUnlock.name,
             .numerator = "shmkit",
             .denominator = "pthread",
             .goal_at_most = 1.5,
             .goal_source = "issue 3"});
  if (ctx.shared_core()) ctx.note("one CPU: the processes never truly contend");
}

const Registration kCase{{
    .name = "mutex.contended",
    .group = "mutex",
    .description = "2 processes: lock; ++counter; unlock (ns/op = wall time / all ops)",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
