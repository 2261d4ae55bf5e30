#include "shmkit/shared_memory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace shmkit {
namespace {

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

TEST(SharedMemory, CreateWriteOpenReadRemove) {
  test::ScopedName name("bytes");
  {
    SharedMemory created = SharedMemory::create(name, 100);
    ASSERT_EQ(created.size(), 100u);
    created.bytes()[99] = std::byte{7};
    const SharedMemory opened = SharedMemory::open(name);
    EXPECT_EQ(opened.size(), 100u);
    EXPECT_EQ(opened.bytes()[99], std::byte{7});
    EXPECT_EQ(opened.data(), opened.bytes().data());
  }
  EXPECT_TRUE(SharedMemory::remove(name));
  EXPECT_FALSE(SharedMemory::remove(name));
  EXPECT_TRUE(test::leftovers().empty());
}

TEST(SharedMemory, IsZeroFilledAtCreation) {
  test::ScopedName name("zero");
  const SharedMemory m = SharedMemory::create(name, 70000);
  EXPECT_TRUE(std::all_of(m.bytes().begin(), m.bytes().end(),
                          [](std::byte b) { return b == std::byte{0}; }));
}

TEST(SharedMemory, BytesStartAtOffset4096OfTheFile) {
  test::ScopedName name("offset");
  const SharedMemory m = SharedMemory::create(name, 3);
  m.bytes()[0] = std::byte{'a'};
  m.bytes()[1] = std::byte{'b'};
  m.bytes()[2] = std::byte{'c'};
  const int fd = ::open(m.segment().path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4] = {};
  EXPECT_EQ(::pread(fd, buf, sizeof buf, 4096), 3);  // the file ends after the bytes
  ::close(fd);
  EXPECT_STREQ(buf, "abc");
}

TEST(SharedMemory, IsARawBytesObject) {
  test::ScopedName name("kind");
  SegmentOptions options;
  options.type = TypeFingerprint::of<double>();  // overridden: bytes are bytes
  const SharedMemory m = SharedMemory::create(name, 10, options);
  EXPECT_EQ(m.segment().kind(), Kind::bytes);
  EXPECT_EQ(m.segment().type(), TypeFingerprint::bytes());
  EXPECT_EQ(Segment::open(name).kind(), Kind::bytes);
}

TEST(SharedMemory, OpenOfAnObjectOfAnotherTypeIsTypeMismatch) {
  test::ScopedName name("typed");
  SegmentOptions options;
  options.type = TypeFingerprint::of<std::int32_t>();
  const Segment typed = Segment::create(name, 40, options);
  EXPECT_EQ(test::thrown_by([&] { SharedMemory::open(name); }).code,
            make_error_code(Errc::type_mismatch));
}

TEST(SharedMemory, CreateIsExclusiveAndOpenNeedsAnObject) {
  test::ScopedName name("excl");
  EXPECT_EQ(test::thrown_by([&] { SharedMemory::open(name); }).code,
            make_error_code(Errc::not_found));
  const SharedMemory m = SharedMemory::create(name, 10);
  EXPECT_EQ(test::thrown_by([&] { SharedMemory::create(name, 10); }).code,
            make_error_code(Errc::already_exists));
}

}  // namespace
}  // namespace shmkit
