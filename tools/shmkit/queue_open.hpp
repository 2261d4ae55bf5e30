#pragma once

#include <string>

#include "shmkit/queue.hpp"

// How put and get open their queue. Thread-safe (no state).

namespace shmkit::cli {

// Opens the byte queue `name` in `directory` for `command` ("put", "get").
// A typed Queue<T> made by the library is a queue too, but its messages are
// T values, not lines: opening one is Errc::type_mismatch with a message that
// says what it is and what put and get take. Other errors as ByteQueue::open.
ByteQueue open_byte_queue(const std::string& command, const std::string& name,
                          const std::string& directory);

}  // namespace shmkit::cli
