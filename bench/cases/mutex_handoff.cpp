// mutex.handoff and mutex.handoff_asleep: how long the lock takes to pass to
// a process already waiting in lock(), from unlock() to its lock() returning.

#include "harness/registry.hpp"
#include "workloads/locks.hpp"

namespace shmkit::bench {
namespace {

template <bool Asleep>
void run(Context& ctx) {
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { mutex_handoff_rep(c, s, LockKind::shmkit, Asleep); }},
      {"pthread", [](Context& c,
                     const std::string& s) { mutex_handoff_rep(c, s, LockKind::pthread, Asleep); }},
  });
  for (const Metric* m : {&metrics::kOneWayP50, &metrics::kOneWayP99}) {
    ctx.ratio({.metric = m->name, .numerator = "shmkit", .denominator = "pthread"});
  }
  ctx.note(
      "one-way = unlock() to the waiter's lock() returning, both stamped with "
      "steady_clock (its ~20 ns read included)");
}

const Registration kPrompt{{
    .name = "mutex.handoff",
    .group = "mutex",
    .description = "lock passed to a process that just called lock() (it may still be spinning)",
    .run = &run<false>,
}};

const Registration kAsleep{{
    .name = "mutex.handoff_asleep",
    .group = "mutex",
    .description = "lock passed to a process asleep in lock() for 100 us (the wake-up path)",
    .run = &run<true>,
}};

}  // namespace
}  // namespace shmkit::bench
