#include "shmkit/sync/mutex_state.hpp"
#include "kind_state.hpp"

// A named Mutex: one MutexState. The owner is a thread (its id is the pid of
// a single-threaded process), recorded with its start time so that a reused
// id is not taken for it.

namespace shmkit::cli {

void describe_mutex_state(const Segment& segment, Report& section) {
  const auto* mutex = layout_at<sync::MutexState>(segment, section, 0, "a mutex");
  if (mutex != nullptr) describe_mutex(*mutex, section);
}

}  // namespace shmkit::cli
