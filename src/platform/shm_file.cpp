#include "shmkit/platform/shm_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "shmkit/error.hpp"

namespace shmkit::platform {

std::string resolve_directory(const std::string& explicit_dir) {
  if (!explicit_dir.empty()) return explicit_dir;
  const char* env = std::getenv("SHMKIT_DIR");  // NOLINT(concurrency-mt-unsafe): read-only use
  if (env != nullptr && *env != '\0') return env;
  return kDefaultDirectory;
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

FileDescriptor open_file(const std::string& dir, const std::string& file, int flags,
                         std::uint32_t mode, std::error_code& ec) noexcept {
  ec.clear();
  // O_NONBLOCK: a FIFO named like an object must not block the open (fstat rejects it).
  flags |= O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
  int fd = -1;
  if (dir == kDefaultDirectory) {
    const std::string shm_name = "/" + file;
    fd = ::shm_open(shm_name.c_str(), flags, static_cast<mode_t>(mode));
  } else {
    const std::string path = dir + "/" + file;
    fd = ::open(path.c_str(), flags, static_cast<mode_t>(mode));
  }
  if (fd < 0) {
    ec = {errno, std::system_category()};
    return {};
  }
  FileDescriptor result(fd);
  // The umask may have narrowed the mode we asked for; a creator's mode is exact.
  // Only for a file we just created (O_EXCL): never re-mode somebody else's.
  if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) &&
      ::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    ec = {errno, std::system_category()};
    return {};
  }
  return result;
}

bool is_directory(const std::string& dir) noexcept {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

FileInfo stat_file(const FileDescriptor& fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "fstat " + what);
  FileInfo info;
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  info.uid = st.st_uid;
  info.links = static_cast<std::uint64_t>(st.st_nlink);
  info.regular = S_ISREG(st.st_mode);
  info.device = static_cast<std::uint64_t>(st.st_dev);
  info.inode = static_cast<std::uint64_t>(st.st_ino);
  return info;
}

bool still_names(const std::string& dir, const std::string& file, const FileInfo& info) {
  struct stat st {};
  const std::string path = dir + "/" + file;
  if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno != ENOENT && errno != ENOTDIR;
  }
  return static_cast<std::uint64_t>(st.st_dev) == info.device &&
         static_cast<std::uint64_t>(st.st_ino) == info.inode;
}

void reserve_file(const FileDescriptor& fd, std::uint64_t size, const std::string& what) {
  // posix_fallocate returns the error instead of setting errno.
  int rc = 0;
  do {
    rc = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(size));
  } while (rc == EINTR);
  if (rc == ENOSPC || rc == EFBIG) {
    throw Error(Errc::out_of_space, "cannot reserve " + std::to_string(size) + " bytes for " +
                                        what + ": no space left in its directory");
  }
  if (rc != 0) throw_errno(rc, "posix_fallocate " + what);
}

bool unlink_file(const std::string& dir, const std::string& file) {
  int rc = 0;
  if (dir == kDefaultDirectory) {
    rc = ::shm_unlink(("/" + file).c_str());
  } else {
    rc = ::unlink((dir + "/" + file).c_str());
  }
  if (rc == 0) return true;
  if (errno == ENOENT) return false;
  throw_errno(errno, "unlink " + dir + "/" + file);
}

std::vector<std::string> list_files(const std::string& dir, const std::string& prefix) {
  std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), &::closedir);
  if (!handle) throw_errno(errno, "open directory " + dir);
  std::vector<std::string> names;
  errno = 0;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): readdir is safe on a stream of our own.
  while (const dirent* entry = ::readdir(handle.get())) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool wait_for_file(const std::string& dir, const std::string& file,
                   std::optional<std::chrono::steady_clock::time_point> deadline) {
  const std::string path = dir + "/" + file;
  const FileDescriptor watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!watch.valid()) throw_errno(errno, "inotify_init1");
  // Watch first, then look: a file made in between is seen either way.
  if (::inotify_add_watch(watch.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
    throw_errno(errno, "watch directory " + dir);
  }
  for (;;) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    int timeout_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      timeout_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30));
    }
    pollfd pfd{watch.get(), POLLIN, 0};
    const int rc = ::poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno != EINTR) throw_errno(errno, "poll inotify");
    // Drain the events; which file they name does not matter, access() decides.
    alignas(inotify_event) char buf[4096];
    while (::read(watch.get(), buf, sizeof buf) > 0) {
    }
  }
}

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

void prefault_for_write(std::byte* begin, std::size_t size) noexcept {
#ifdef MADV_POPULATE_WRITE
  // EINVAL: a kernel without the advice; asking again would fail the same way.
  static std::atomic<bool> unsupported{false};
  if (size == 0 || unsupported.load(std::memory_order_relaxed)) return;
  const std::uintptr_t page = page_size();
  const std::uintptr_t from = reinterpret_cast<std::uintptr_t>(begin) & ~(page - 1);
  const std::uintptr_t to = reinterpret_cast<std::uintptr_t>(begin) + size;
  const int saved = errno;  // a hint leaves errno as it found it
  // NOLINTNEXTLINE(performance-no-int-to-ptr): an address within the caller's mapping
  if (::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE) != 0 &&
      errno == EINVAL) {
    unsupported.store(true, std::memory_order_relaxed);
  }
  errno = saved;
#else
  (void)begin;
  (void)size;
#endif
}

Mapping::Mapping(const FileDescriptor& fd, std::size_t size, bool writable,
                 const std::string& what) {
  const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void* addr = ::mmap(nullptr, size, prot, MAP_SHARED, fd.get(), 0);
  if (addr == MAP_FAILED) throw_errno(errno, "mmap " + what);
  data_ = static_cast<std::byte*>(addr);
  size_ = size;
}

Mapping::Mapping(Mapping&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

Mapping::~Mapping() { reset(); }

void Mapping::reset() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace shmkit::platform
