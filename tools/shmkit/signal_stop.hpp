#pragma once

#include <string>

#include "shmkit/platform/interrupt.hpp"
#include "shmkit/queue.hpp"

// put, get and demo stop on SIGINT, SIGTERM and SIGHUP instead of dying of
// them: a process killed by a signal stays in the queue's table of attached
// processes, and a queue whose attached processes all died is what
// 'shmkit rm --stale' removes, messages and all. The library's waits sleep
// through signals (they look again and wait again), so put and get have the
// signal handler interrupt their queue (ByteQueue::interrupt()): a push or
// pop asleep then returns `interrupted` at once, and so does every later one
// that would wait.

namespace shmkit::cli {

// While it lives, a watched signal interrupts `queue`; one that came before
// it was made does too. Make it after the queue, so that it goes first: the
// handler must not reach a queue that is gone.
class InterruptOnSignal {
 public:
  InterruptOnSignal(platform::InterruptWatch& interrupts, ByteQueue& queue) noexcept
      : interrupts_(interrupts) {
    interrupts_.set_hook({&interrupt, &queue});
  }
  InterruptOnSignal(const InterruptOnSignal&) = delete;
  InterruptOnSignal& operator=(const InterruptOnSignal&) = delete;
  ~InterruptOnSignal() { interrupts_.set_hook({}); }

 private:
  static void interrupt(void* queue) noexcept { static_cast<ByteQueue*>(queue)->interrupt(); }
  platform::InterruptWatch& interrupts_;
};

// "interrupted by signal 2 (Interrupt)": how put, get and demo say why they
// stopped.
std::string interrupted_by(int signal);

}  // namespace shmkit::cli
