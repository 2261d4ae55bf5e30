#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

// Files of shared memory and their mappings (platform layer).
//
// In the default directory (/dev/shm) objects are opened with shm_open, so they
// are POSIX shared memory objects any tool can map. In another directory
// (SHMKIT_DIR, or an option: tests use a small tmpfs of their own) they are
// opened with openat, which is what shm_open does underneath on Linux.
// Handles are move-only and not thread-safe; the functions are.

namespace shmkit::platform {

inline constexpr const char* kDefaultDirectory = "/dev/shm";

// `explicit_dir` if not empty, else $SHMKIT_DIR if set and not empty, else /dev/shm.
std::string resolve_directory(const std::string& explicit_dir);

// An open file descriptor, closed on destruction.
class FileDescriptor {
 public:
  FileDescriptor() noexcept = default;
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

struct FileInfo {
  std::uint64_t size = 0;
  std::uint32_t mode = 0;  // permission bits only
  std::uint32_t uid = 0;
  std::uint64_t links = 0;  // names the file has; 0 once it was removed
  bool regular = false;
  std::uint64_t device = 0;  // with `inode`, which file it is
  std::uint64_t inode = 0;
};

// Opens `file` (a plain file name, no '/') in `dir`. `flags` are open(2) flags
// (O_RDWR, O_CREAT | O_EXCL...); O_NOFOLLOW and O_CLOEXEC are always added.
// The mode is applied exactly (fchmod), whatever the umask. On failure returns
// an invalid descriptor and sets `ec` to the errno.
FileDescriptor open_file(const std::string& dir, const std::string& file, int flags,
                         std::uint32_t mode, std::error_code& ec) noexcept;

// Whether `dir` names a directory (following links), for an error message
// that says why a file could not be opened in it.
bool is_directory(const std::string& dir) noexcept;

// fstat; errors throw shmkit::Error naming `what`.
FileInfo stat_file(const FileDescriptor& fd, const std::string& what);

// Whether `file` in `dir` is still the file `info` was taken of: false once it
// was removed, or removed and made again. A name that stat(2) cannot look at
// for another reason (EACCES, ENOMEM) counts as still naming it. Not noexcept:
// it builds the path (std::bad_alloc).
bool still_names(const std::string& dir, const std::string& file, const FileInfo& info);

// Reserves `size` bytes (posix_fallocate), so touching them can never SIGBUS.
// A full file system is Errc::out_of_space.
void reserve_file(const FileDescriptor& fd, std::uint64_t size, const std::string& what);

// Removes `file` from `dir`; false if it did not exist, other errors throw.
bool unlink_file(const std::string& dir, const std::string& file);

// The names of the entries of `dir` that begin with `prefix`, sorted.
std::vector<std::string> list_files(const std::string& dir, const std::string& prefix);

// Returns once `file` exists in `dir` (true) or `deadline` passes (false).
// Sleeps on inotify events of the directory, not a polling loop.
bool wait_for_file(const std::string& dir, const std::string& file,
                   std::optional<std::chrono::steady_clock::time_point> deadline);

// The system page size.
std::size_t page_size() noexcept;

// Maps the pages under [begin, begin + size), part of a writable shared
// mapping, for writing in one system call (MADV_POPULATE_WRITE), so that a
// writer walking them takes no page fault per page. The range is widened to
// whole pages. Only a hint: where the kernel has no such advice (before
// Linux 5.14) or refuses it, nothing happens and the pages fault in as they
// are touched.
void prefault_for_write(std::byte* begin, std::size_t size) noexcept;

// A MAP_SHARED mapping, unmapped on destruction.
class Mapping {
 public:
  Mapping() noexcept = default;
  // Maps `size` bytes of `fd` from offset 0, read-write or read-only.
  Mapping(const FileDescriptor& fd, std::size_t size, bool writable, const std::string& what);
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  void reset() noexcept;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace shmkit::platform
