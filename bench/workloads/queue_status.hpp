#pragma once

#include <string>
#include <string_view>

#include "harness/context.hpp"
#include "harness/team.hpp"
#include "shmkit/queue.hpp"

// The outcomes of shmkit's ByteQueue and Pipe calls (QueueStatus) in the
// benchmarks: a name for each, a CaseFailure for one that should not happen,
// and the busy-polling loop around a try_ call.

namespace shmkit::bench {

inline const char* status_name(QueueStatus s) noexcept {
  switch (s) {
    case QueueStatus::ok: return "ok";
    case QueueStatus::empty: return "empty";
    case QueueStatus::full: return "full";
    case QueueStatus::timed_out: return "timed_out";
    case QueueStatus::closed: return "closed";
    case QueueStatus::interrupted: return "interrupted";
  }
  return "?";
}

// `who` ("producer") saw `what` ("try_push") return `s`.
[[noreturn]] inline void unexpected_status(std::string_view who, const char* what, QueueStatus s) {
  throw CaseFailure(std::string(who) + ": " + what + " returned " + status_name(s));
}

inline void expect_ok(QueueStatus s, std::string_view who, const char* what) {
  if (s != QueueStatus::ok) unexpected_status(who, what, s);
}

// Calls `attempt` (a try_ call) again while it returns `busy` (full for a
// sender, empty for a receiver), spinning in between; returns what it
// returned then.
template <class Attempt>
QueueStatus spin_while(QueueStatus busy, SpinWait& spin, Attempt attempt) {
  QueueStatus s = attempt();
  while (s == busy) {
    spin();
    s = attempt();
  }
  return s;
}

}  // namespace shmkit::bench
