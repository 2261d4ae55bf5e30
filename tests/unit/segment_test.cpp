#include <sys/stat.h>

#include <gtest/gtest.h>

#include "shmkit/segment.hpp"
#include "shmkit/shared_memory.hpp"
#include "test_support.hpp"

namespace shmkit {
namespace {

TEST(SharedMemory, CreateWriteOpenReadRemove) {
  test::ScopedName name("bytes");
  {
    SharedMemory created = SharedMemory::create(name, 100);
    ASSERT_EQ(created.size(), 100u);
    created.bytes()[99] = std::byte{7};
    const SharedMemory opened = SharedMemory::open(name);
    EXPECT_EQ(opened.bytes()[99], std::byte{7});
  }
  EXPECT_TRUE(SharedMemory::remove(name));
  EXPECT_FALSE(SharedMemory::remove(name));
  EXPECT_TRUE(test::leftovers().empty());
}

}  // namespace
}  // namespace shmkit
