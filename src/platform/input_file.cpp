#include "shmkit/platform/input_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace shmkit::platform {

FileDescriptor open_for_reading(const std::string& path, std::error_code& ec) noexcept {
  ec.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ec = {errno, std::system_category()};
  return FileDescriptor(fd);
}

std::size_t read_some(int fd, std::span<char> into, std::error_code& ec) noexcept {
  ec.clear();
  const ssize_t n = ::read(fd, into.data(), into.size());
  if (n >= 0) return static_cast<std::size_t>(n);
  ec = {errno, std::system_category()};
  return 0;
}

}  // namespace shmkit::platform
