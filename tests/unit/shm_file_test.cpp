// Files of shared memory and their mappings (platform/shm_file.hpp):
// prefault_for_write() maps in the pages of the range it is given, widened to
// whole pages, and no others.
#include "shmkit/platform/shm_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace shmkit::platform {
namespace {

// Whether the page at `address` is mapped in this process: bit 63 of its
// /proc/self/pagemap entry.
bool present(const std::byte* address) {
  const FileDescriptor pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(pagemap.valid()) << "open /proc/self/pagemap: errno " << errno;
  std::uint64_t entry = 0;
  const auto offset =
      static_cast<off_t>(reinterpret_cast<std::uintptr_t>(address) / page_size() * sizeof entry);
  EXPECT_EQ(::pread(pagemap.get(), &entry, sizeof entry, offset),
            static_cast<ssize_t>(sizeof entry));
  return (entry >> 63) != 0;
}

// A fresh file of `pages` reserved pages in /dev/shm, removed on destruction.
struct ShmFile {
  explicit ShmFile(std::size_t pages) : name(test::unique_name("prefault")) {
    std::error_code ec;
    fd = open_file(kDefaultDirectory, name, O_RDWR | O_CREAT | O_EXCL, 0600, ec);
    EXPECT_FALSE(ec) << ec.message();
    reserve_file(fd, pages * page_size(), name);
  }
  ShmFile(const ShmFile&) = delete;
  ShmFile& operator=(const ShmFile&) = delete;
  ~ShmFile() { (void)unlink_file(kDefaultDirectory, name); }
  std::string name;
  FileDescriptor fd;
};

// Whether this kernel has MADV_POPULATE_WRITE (Linux 5.14), asked on a
// mapping of its own.
bool kernel_can_populate() {
#ifdef MADV_POPULATE_WRITE
  const ShmFile probe(1);
  const Mapping map(probe.fd, page_size(), true, probe.name);
  return ::madvise(map.data(), page_size(), MADV_POPULATE_WRITE) == 0;
#else
  return false;
#endif
}

TEST(PrefaultForWrite, MapsThePagesUnderTheRangeAndNoOthers) {
  if (!kernel_can_populate()) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE";
  constexpr std::size_t kPageCount = 16;
  const ShmFile file(kPageCount);
  const Mapping map(file.fd, kPageCount * page_size(), true, file.name);
  const std::size_t page = page_size();
  auto at = [&](std::size_t p) { return map.data() + p * page; };
  for (std::size_t p = 0; p < kPageCount; ++p) ASSERT_FALSE(present(at(p))) << "page " << p;
  // The control: a page written is seen as mapped.
  *at(12) = std::byte{7};
  ASSERT_TRUE(present(at(12)));

  prefault_for_write(at(5), 0);  // nothing
  EXPECT_FALSE(present(at(5)));

  // From inside page 3 to inside page 5: pages 3, 4 and 5.
  errno = 0;
  prefault_for_write(at(3) + 100, 2 * page);
  EXPECT_EQ(errno, 0);
  for (std::size_t p = 0; p < kPageCount; ++p) {
    EXPECT_EQ(present(at(p)), (p >= 3 && p <= 5) || p == 12) << "page " << p;
  }
  // The pages are the file's: what was written stays, the rest reads zero.
  EXPECT_EQ(*at(12), std::byte{7});
  EXPECT_EQ(*(at(4) + 9), std::byte{0});
}

}  // namespace
}  // namespace shmkit::platform
