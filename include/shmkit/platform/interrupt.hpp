#pragma once

#include <chrono>
#include <optional>
#include <vector>

// Interrupt handling for supervisor programs (platform layer): catch SIGINT,
// SIGTERM and SIGHUP as an event on a file descriptor, and wait on several
// descriptors at once, so a parent that supervises children can clean up
// instead of dying half-way. Not thread-safe: one InterruptWatch at a time,
// in one thread.

namespace shmkit::platform {

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
