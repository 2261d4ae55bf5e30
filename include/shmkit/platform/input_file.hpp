#pragma once

// A program's input read through a descriptor (platform layer), for the
// shmkit tool's `put`: a named file or stdin, in blocks as it arrives.

#include <cstddef>
#include <span>
#include <string>
#include <system_error>

#include "shmkit/platform/shm_file.hpp"

namespace shmkit::platform {

// Standard input's descriptor.
inline constexpr int kStdinFd = 0;

// Opens `path` for reading (links followed, close-on-exec). On failure an
// invalid descriptor, and `ec` says why.
FileDescriptor open_for_reading(const std::string& path, std::error_code& ec) noexcept;

// One read(2) of up to into.size() bytes from `fd`: how many came, 0 at the
// end of the input. On failure 0, and `ec` says why: std::errc::interrupted
// for a signal that came first, after which the caller may read again.
std::size_t read_some(int fd, std::span<char> into, std::error_code& ec) noexcept;

}  // namespace shmkit::platform
