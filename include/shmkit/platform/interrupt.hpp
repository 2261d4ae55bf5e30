#pragma once

#include <chrono>
#include <optional>
#include <vector>

// Interrupt handling for supervisor programs (platform layer): catch SIGINT,
// SIGTERM and SIGHUP as an event on a file descriptor, and wait on several
// descriptors at once, so a parent that supervises children can clean up
// instead of dying half-way; or have the handler call a hook that ends a
// blocking call (ByteQueue::interrupt(), say). Not thread-safe: one
// InterruptWatch at a time, in one thread (the signals may come on any).

namespace shmkit::platform {

// A function for the signal handler to call, and what to call it with. It
// runs in a signal handler, so it must be async-signal-safe, and it may run
// more than once for one signal (see InterruptWatch::set_hook()).
struct SignalHook {
  void (*call)(void* context) noexcept = nullptr;
  void* context = nullptr;
};

class InterruptWatch {
 public:
  // Installs the handlers (the previous ones come back on destruction).
  InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;
  ~InterruptWatch();

  // Readable once a watched signal arrived.
  [[nodiscard]] int fd() const noexcept { return read_fd_; }
  // The first watched signal that arrived, or 0.
  [[nodiscard]] int signal() const noexcept;

  // From now on a watched signal also calls hook.call(hook.context), in the
  // handler, after the write that makes fd() readable (on whichever thread
  // the signal interrupts). If a watched signal came already, calls it once
  // here as well, so that a signal that came before this call is not missed.
  // Replaces the hook set before; SignalHook{} clears it (the destructor
  // does too). When it returns, no handler still runs the hook it replaced
  // (it waits for one running on another thread), so whatever that hook's
  // context refers to may go. Not from within a hook.
  void set_hook(SignalHook hook) noexcept;

  // For a forked child: the default dispositions again, so that the child dies
  // of SIGINT as usual instead of writing to its parent's watch.
  static void reset_in_child() noexcept;

 private:
  int read_fd_ = -1;
};

// Waits until one of `fds` is readable or `timeout` passes (nullopt: forever).
// Returns the indexes of the readable ones (empty on timeout).
std::vector<std::size_t> wait_readable(const std::vector<int>& fds,
                                       std::optional<std::chrono::milliseconds> timeout);

}  // namespace shmkit::platform
