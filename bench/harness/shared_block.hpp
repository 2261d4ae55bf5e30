#pragma once

#include <cstddef>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "shmkit/shared_memory.hpp"

// Named shared memory for the processes of one case, never left behind.
//
// ScopedName makes a unique object name ("bench-PID-N-tag") and removes that
// object when it goes out of scope, whatever created it (a SharedMemory, a
// named shmkit::Mutex, a List with its chunk files NAME.i<k>, NAME.d<k>...),
// through shmkit::remove_object. Until then the name is also on a list that
// the main process's SIGINT/SIGTERM/SIGHUP handler unlinks, chunk files
// included, so an interrupted run leaves /dev/shm clean too. Main process only.
//
// SharedBlock<T> is a ScopedName plus a shmkit::SharedMemory holding one T
// (value-initialised: zeroed atomics) and `extra` bytes after it, cache-line
// aligned, for sample arrays. Children forked later share it.

namespace shmkit::bench {

// Installs the handler that removes every live ScopedName's object and its
// List chunk files, then dies of the signal (main, once).
void install_cleanup_handlers();

class ScopedName {
 public:
  explicit ScopedName(std::string_view tag);
  ScopedName(const ScopedName&) = delete;
  ScopedName& operator=(const ScopedName&) = delete;
  ~ScopedName();
  [[nodiscard]] const std::string& str() const noexcept { return name_; }

 private:
  std::string name_;
  int slot_ = -1;
};

inline constexpr std::size_t kCacheLine = 64;

template <class T>
class SharedBlock {
 public:
  explicit SharedBlock(std::size_t extra = 0)
      : name_("block"),
        memory_(SharedMemory::create(name_.str(), extra_offset() + extra + 1)),
        value_(::new (memory_.data()) T{}),
        extra_size_(extra) {}
  SharedBlock(const SharedBlock&) = delete;
  SharedBlock& operator=(const SharedBlock&) = delete;
  ~SharedBlock() = default;  // T is trivially destructible: it lives in shared memory

  T& operator*() const noexcept { return *value_; }
  T* operator->() const noexcept { return value_; }
  [[nodiscard]] std::byte* extra() const noexcept { return memory_.data() + extra_offset(); }
  [[nodiscard]] std::size_t extra_size() const noexcept { return extra_size_; }

 private:
  static constexpr std::size_t extra_offset() noexcept {
    return (sizeof(T) + kCacheLine - 1) / kCacheLine * kCacheLine;
  }
  static_assert(std::is_trivially_destructible_v<T>);

  ScopedName name_;  // declared first: destroyed last, after the mapping
  SharedMemory memory_;
  T* value_;
  std::size_t extra_size_;
};

}  // namespace shmkit::bench
