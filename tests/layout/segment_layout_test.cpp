// If this fails you changed the shared layout: bump kLayoutVersion and
// docs/design/layout.md in the same commit.
//
// Every process that maps a segment must agree on these numbers, whichever
// compiler or shmkit build it has: they are the binary contract of layout v4.

#include <array>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "broken_headers.hpp"
#include "shmkit/detail/checksum.hpp"
#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/shared_memory.hpp"
#include "test_support.hpp"

namespace shmkit {
namespace {

using detail::FixedHeader;
using detail::SegmentHeader;

#define SHMKIT_EXPECT_FIELD(Type, field, offset, size)  \
  do {                                                  \
    EXPECT_EQ(offsetof(Type, field), offset) << #field; \
    EXPECT_EQ(sizeof(Type::field), size) << #field;     \
  } while (false)

TEST(SegmentLayout, ConstantsMatchTheCurrentVersion) {
  EXPECT_EQ(detail::kLayoutVersion, 9u);
  EXPECT_EQ(detail::kMagic, 0x4B4D4853u);
  EXPECT_EQ(detail::kAttachSlots, 64u);
  EXPECT_EQ(detail::kDataAlignment, 4096u);
  EXPECT_EQ(detail::kMaxDataSize, std::uint64_t{1} << 46);
  EXPECT_EQ(detail::kCacheLine, 64u);
  EXPECT_EQ(kTypeNameBytes, 48u);
  EXPECT_EQ(static_cast<std::uint32_t>(detail::SegmentState::uninitialised), 0u);
  EXPECT_EQ(static_cast<std::uint32_t>(detail::SegmentState::initialising), 1u);
  EXPECT_EQ(static_cast<std::uint32_t>(detail::SegmentState::ready), 2u);
  EXPECT_EQ(static_cast<std::uint32_t>(Kind::bytes), 1u);
}

TEST(SegmentLayout, MagicReadsShmkInAByteDump) {
  std::array<char, 4> bytes{};
  std::memcpy(bytes.data(), &detail::kMagic, sizeof detail::kMagic);
  EXPECT_EQ(std::string(bytes.data(), bytes.size()), "SHMK");
}

TEST(FixedHeaderLayout, MatchesVersion1) {
  EXPECT_EQ(sizeof(FixedHeader), 120u);
  EXPECT_EQ(alignof(FixedHeader), 8u);
  SHMKIT_EXPECT_FIELD(FixedHeader, magic, 0u, 4u);
  SHMKIT_EXPECT_FIELD(FixedHeader, layout_version, 4u, 2u);
  SHMKIT_EXPECT_FIELD(FixedHeader, header_size, 6u, 2u);
  SHMKIT_EXPECT_FIELD(FixedHeader, kind, 8u, 4u);
  SHMKIT_EXPECT_FIELD(FixedHeader, attach_capacity, 12u, 4u);
  SHMKIT_EXPECT_FIELD(FixedHeader, total_size, 16u, 8u);
  SHMKIT_EXPECT_FIELD(FixedHeader, data_offset, 24u, 8u);
  SHMKIT_EXPECT_FIELD(FixedHeader, data_size, 32u, 8u);
  SHMKIT_EXPECT_FIELD(FixedHeader, creator, 40u, 8u);
  SHMKIT_EXPECT_FIELD(FixedHeader, created_ns, 48u, 8u);
  SHMKIT_EXPECT_FIELD(FixedHeader, type, 56u, 56u);
  SHMKIT_EXPECT_FIELD(FixedHeader, reserved0, 112u, 4u);
  SHMKIT_EXPECT_FIELD(FixedHeader, checksum, 116u, 4u);
  EXPECT_EQ(detail::kChecksummedBytes, 116u);
}

TEST(SegmentHeaderLayout, MatchesVersion1) {
  EXPECT_EQ(sizeof(SegmentHeader), 640u);
  EXPECT_EQ(alignof(SegmentHeader), 8u);
  SHMKIT_EXPECT_FIELD(SegmentHeader, fixed, 0u, 120u);
  SHMKIT_EXPECT_FIELD(SegmentHeader, state, 120u, 4u);
  SHMKIT_EXPECT_FIELD(SegmentHeader, reserved1, 124u, 4u);
  SHMKIT_EXPECT_FIELD(SegmentHeader, attached, 128u, 64u * 8u);
  EXPECT_EQ(sizeof(SegmentHeader::attached[0]), 8u);
  EXPECT_TRUE(std::atomic<std::uint32_t>::is_always_lock_free);
  EXPECT_TRUE(std::atomic<std::uint64_t>::is_always_lock_free);
}

TEST(TypeFingerprintLayout, MatchesVersion1) {
  EXPECT_EQ(sizeof(TypeFingerprint), 56u);
  EXPECT_EQ(alignof(TypeFingerprint), 4u);
  SHMKIT_EXPECT_FIELD(TypeFingerprint, size, 0u, 4u);
  SHMKIT_EXPECT_FIELD(TypeFingerprint, align, 4u, 4u);
  SHMKIT_EXPECT_FIELD(TypeFingerprint, name, 8u, 48u);
}

// Stored names are part of the layout: another build must produce the same.
TEST(TypeFingerprintLayout, StoredNamesAreStable) {
  const TypeFingerprint bytes = TypeFingerprint::bytes();
  EXPECT_EQ(bytes.size, 1u);
  EXPECT_EQ(bytes.align, 1u);
  EXPECT_EQ(bytes.name_string(), "bytes");
  EXPECT_EQ(TypeFingerprint::of<std::int32_t>().name_string(), "int32");
  EXPECT_EQ(TypeFingerprint::of<std::uint8_t>().name_string(), "uint8");
  EXPECT_EQ(TypeFingerprint::of<std::int64_t>().name_string(), "int64");
  EXPECT_EQ(TypeFingerprint::of<double>().name_string(), "float64");
  EXPECT_EQ(TypeFingerprint::of<float>().name_string(), "float32");
  EXPECT_EQ(TypeFingerprint::of<bool>().name_string(), "bool");
  // NUL-padded to the end.
  for (std::size_t i = 5; i < kTypeNameBytes; ++i) EXPECT_EQ(bytes.name[i], '\0') << i;
}

TEST(TypeFingerprintLayout, LongNamesKeepTheirStartAndAHashOfTheWhole) {
  const TypeFingerprint fp = TypeFingerprint::make(8, 8, std::string(60, 'a'));
  EXPECT_EQ(fp.name_string(), std::string(38, 'a') + "#92b9e111");
  EXPECT_EQ(fp.name.back(), '\0');
  const std::string fits(47, 'b');
  EXPECT_EQ(TypeFingerprint::make(1, 1, fits).name_string(), fits);
}

TEST(ProcessIdentityLayout, PacksPidInTheLow24BitsAndStartTicksInTheHigh40) {
  EXPECT_EQ(ProcessIdentity::kPidBits, 24u);
  const ProcessIdentity who{0x123456, 0xABCDEF0123};
  EXPECT_EQ(who.pack(), (std::uint64_t{0xABCDEF0123} << 24) | 0x123456u);
  const ProcessIdentity back = ProcessIdentity::unpack(who.pack());
  EXPECT_EQ(back.pid, 0x123456);
  EXPECT_EQ(back.start_ticks, 0xABCDEF0123u);
  EXPECT_EQ(ProcessIdentity{}.pack(), 0u);  // 0: a free attach entry
}

TEST(HeaderChecksum, IsFnv1a32) {
  EXPECT_EQ(detail::fnv1a32("", 0), 0x811c9dc5u);
  EXPECT_EQ(detail::fnv1a32("a", 1), 0xe40c292cu);
}

// Golden values computed outside C++ (Python struct.pack of the v9 layout,
// then FNV-1a over the 116 bytes before the checksum).
TEST(HeaderChecksum, GoldenHeadersHashToKnownValues) {
  const FixedHeader bytes_object =
      test::creator_header(100, Kind::bytes, TypeFingerprint::bytes(),
                           ProcessIdentity{1234, 5678}.pack(), 1'700'000'000'123'456'789);
  EXPECT_EQ(bytes_object.total_size, 4196u);
  EXPECT_EQ(bytes_object.checksum, 0xa87b82bfu);
  const FixedHeader int32_object =
      test::creator_header(4096, Kind::bytes, TypeFingerprint::of<std::int32_t>(),
                           ProcessIdentity{1234, 5678}.pack(), 0);
  EXPECT_EQ(int32_object.checksum, 0xc08d38c6u);
}

TEST(HeaderChecksum, CoversEveryByteBeforeItAndNothingAfter) {
  const FixedHeader valid = test::valid_header();
  for (std::size_t i = 0; i < sizeof(FixedHeader); ++i) {
    FixedHeader changed = valid;
    auto* bytes = reinterpret_cast<unsigned char*>(&changed);  // NOLINT: byte view of a layout
    bytes[i] ^= 0x01;
    if (i < detail::kChecksummedBytes) {
      EXPECT_NE(detail::header_checksum(changed), valid.checksum) << "byte " << i;
    } else {
      EXPECT_EQ(detail::header_checksum(changed), valid.checksum) << "byte " << i;
    }
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The header a real create() writes is the one the tests build and the docs
// describe, and the raw bytes sit at offset 4096 of the file for any reader.
TEST(SegmentLayoutOnDisk, CreatorWritesTheDocumentedHeader) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path();
  const std::string name = test::unique_name("layout");
  const SharedMemory shm = SharedMemory::create(name, 100, options);
  for (std::size_t i = 0; i < shm.size(); ++i) shm.bytes()[i] = std::byte(i + 1);

  const FixedHeader& written = shm.segment().header();
  const FixedHeader expected =
      test::creator_header(100, Kind::bytes, TypeFingerprint::bytes(),
                           ProcessIdentity::self().pack(), written.created_ns);
  EXPECT_EQ(std::memcmp(&written, &expected, sizeof expected), 0);
  EXPECT_EQ(written.checksum, detail::header_checksum(written));

  const std::string file = read_file(dir.path() + "/shmkit." + name);
  ASSERT_EQ(file.size(), 4096u + 100u);
  EXPECT_EQ(file.compare(0, sizeof expected,
                         std::string(reinterpret_cast<const char*>(&expected), sizeof expected)),
            0);
  std::uint32_t state = 0;
  std::uint32_t reserved1 = 1;
  std::uint64_t attached0 = 0;
  std::memcpy(&state, file.data() + 120, 4);
  std::memcpy(&reserved1, file.data() + 124, 4);
  std::memcpy(&attached0, file.data() + 128, 8);
  EXPECT_EQ(state, 2u);
  EXPECT_EQ(reserved1, 0u);
  EXPECT_EQ(attached0, ProcessIdentity::self().pack());
  for (std::size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(static_cast<unsigned char>(file[4096 + i]), static_cast<unsigned char>(i + 1)) << i;
  }
}

}  // namespace
}  // namespace shmkit
