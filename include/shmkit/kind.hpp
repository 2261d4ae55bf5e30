#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// The kinds of named object. Stored in every segment header; a number, once
// given to a kind, is never reused or renumbered. Thread-safe (pure functions).

namespace shmkit {

enum class Kind : std::uint32_t {
  bytes = 1,        // SharedMemory: a raw block of N bytes
  mutex = 2,        // Mutex
  semaphore = 3,    // Semaphore
  event = 4,        // Event
  condition = 5,    // Condition (with its Mutex)
  barrier = 6,      // Barrier
  value = 7,        // Value<T>
  array = 8,        // Array<T>
  list = 9,         // List<T>: the list's head, first index and data chunks
  list_chunk = 10,  // a further index or data chunk of a List (NAME.i<k>, NAME.d<k>)
  queue = 11,       // ByteQueue / Queue<T>: bounded multi-producer multi-consumer queue
  pipe = 12,        // Pipe: duplex connection between two endpoints
};

// "bytes", ... ; "unknown" for a number this build does not know.
std::string_view kind_name(Kind kind) noexcept;

// The Kind a stored number names, if this build knows it.
std::optional<Kind> kind_from_number(std::uint32_t number) noexcept;

}  // namespace shmkit
