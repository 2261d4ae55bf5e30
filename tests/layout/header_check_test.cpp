// The header validator over a corpus of broken segment files (broken_headers.hpp):
// first the pure check_header, then the same files through Segment::open.

#include <chrono>
#include <cstring>
#include <fstream>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broken_headers.hpp"
#include "shmkit/segment.hpp"
#include "test_support.hpp"

namespace shmkit::test {
// gtest prints a parameter with this: the name, not 4 KiB of bytes.
void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.name; }
}  // namespace shmkit::test

namespace shmkit {
namespace {

using detail::FixedHeader;
using detail::HeaderVerdict;
using test::BrokenCase;
using test::Bytes;
using test::Expect;

const char* verdict_name(HeaderVerdict v) {
  switch (v) {
    case HeaderVerdict::valid: return "valid";
    case HeaderVerdict::not_ready: return "not_ready";
    case HeaderVerdict::invalid: return "invalid";
  }
  return "?";
}

void expect_fragments(const std::string& text, const std::vector<std::string>& fragments) {
  for (const std::string& fragment : fragments) {
    EXPECT_NE(text.find(fragment), std::string::npos)
        << "message: " << text << "\nlacks:   " << fragment;
  }
}

std::string case_name(const ::testing::TestParamInfo<BrokenCase>& info) { return info.param.name; }

// ---- the pure validator ----------------------------------------------------

class HeaderCheckCorpus : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(HeaderCheckCorpus, GivesTheExpectedVerdictCodeAndMessage) {
  const BrokenCase& c = GetParam();
  const detail::HeaderCheck check = test::check_file(c.file, c.expect);
  EXPECT_STREQ(verdict_name(check.verdict), verdict_name(c.verdict)) << check.problem;
  if (c.verdict == HeaderVerdict::valid) {
    EXPECT_TRUE(check.problem.empty()) << check.problem;
    return;
  }
  EXPECT_EQ(std::error_code(check.code), std::error_code(c.code)) << check.problem;
  EXPECT_FALSE(check.problem.empty());
  expect_fragments(check.problem, c.message);
}

INSTANTIATE_TEST_SUITE_P(Broken, HeaderCheckCorpus,
                         ::testing::ValuesIn(test::broken_header_corpus()), case_name);

TEST(HeaderCheckCorpusShape, UnknownKindIsUnknownToThisBuild) {
  EXPECT_FALSE(kind_from_number(test::kUnknownKind).has_value());
  EXPECT_TRUE(kind_from_number(static_cast<std::uint32_t>(Kind::mutex)).has_value());
}

TEST(HeaderCheckCorpusShape, CoversEveryVerdictAndCode) {
  std::set<std::string> seen;
  for (const BrokenCase& c : test::broken_header_corpus()) {
    seen.insert(verdict_name(c.verdict));
    if (c.verdict == HeaderVerdict::invalid) seen.insert(std::error_code(c.code).message());
  }
  for (const Errc code :
       {Errc::corrupt, Errc::version_mismatch, Errc::wrong_kind, Errc::type_mismatch}) {
    EXPECT_EQ(seen.count(std::error_code(code).message()), 1u) << std::error_code(code).message();
  }
  EXPECT_EQ(seen.count("valid"), 1u);
  EXPECT_EQ(seen.count("not_ready"), 1u);
}

// Every single-byte change of the fixed header or the state word is caught, with
// the code its position calls for: the magic and the header size are corrupt,
// the version is a version mismatch, any other byte fails the checksum.
TEST(HeaderCheckByteFlips, EverySingleByteChangeOfTheHeaderIsDetected) {
  const Bytes valid = test::file_image(test::valid_header(), test::kReady);
  ASSERT_EQ(test::check_file(valid, Expect::bytes_object).verdict, HeaderVerdict::valid);
  const auto field_end = sizeof(FixedHeader);
  for (std::size_t offset = 0; offset < field_end + sizeof(std::uint32_t); ++offset) {
    for (unsigned mask = 1; mask <= 0xFF; ++mask) {
      Bytes file = valid;
      file[offset] = static_cast<unsigned char>(file[offset] ^ mask);
      const detail::HeaderCheck check = test::check_file(file, Expect::bytes_object);
      const std::string where =
          "byte " + std::to_string(offset) + " ^ " + std::to_string(mask) + ": " + check.problem;
      if (offset >= field_end) {  // the state word
        std::uint32_t state = 0;
        std::memcpy(&state, file.data() + test::kStateOffset, sizeof state);
        const bool creating = state <= test::kInitialising;
        EXPECT_EQ(check.verdict, creating ? HeaderVerdict::not_ready : HeaderVerdict::invalid)
            << where;
        continue;
      }
      ASSERT_EQ(check.verdict, HeaderVerdict::invalid) << where;
      const bool version = offset >= 4 && offset < 6;
      EXPECT_EQ(std::error_code(check.code),
                std::error_code(version ? Errc::version_mismatch : Errc::corrupt))
          << where;
      const char* fragment = offset < 4   ? "not a shmkit object"
                             : version    ? "layout version"
                             : offset < 8 ? "header size"
                                          : "checksum mismatch";
      EXPECT_NE(check.problem.find(fragment), std::string::npos) << where;
    }
  }
}

// reserved1 and the attach table are written by peers at any time: they are
// outside the checksum, and so is the data area.
TEST(HeaderCheckByteFlips, BytesAfterTheStateWordDoNotAffectTheVerdict) {
  const Bytes valid = test::file_image(test::valid_header(), test::kReady);
  for (std::size_t offset = test::kStateOffset + 4; offset < valid.size(); ++offset) {
    Bytes file = valid;
    file[offset] = 0xFF;
    EXPECT_EQ(test::check_file(file, Expect::bytes_object).verdict, HeaderVerdict::valid)
        << "byte " << offset;
  }
}

// A valid file cut to any shorter size is never accepted.
TEST(HeaderCheck, EveryTruncationIsRejected) {
  const Bytes valid = test::file_image(test::valid_header(), test::kReady);
  for (std::size_t size = 0; size < valid.size(); ++size) {
    const Bytes file(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(size));
    const detail::HeaderCheck check = test::check_file(file, Expect::bytes_object);
    if (size == 0) {
      EXPECT_EQ(check.verdict, HeaderVerdict::not_ready);
    } else {
      ASSERT_EQ(check.verdict, HeaderVerdict::invalid) << size << " bytes";
      EXPECT_EQ(std::error_code(check.code), std::error_code(Errc::corrupt)) << size;
    }
  }
}

// Sizes too large to write as files: the check is a pure function of the size.
TEST(HeaderCheck, DataAreaBeyondTheMaximumIsCorrupt) {
  FixedHeader fixed = test::valid_header();
  fixed.data_size = detail::kMaxDataSize + detail::kDataAlignment;
  fixed.total_size = fixed.data_offset + fixed.data_size;
  fixed.checksum = detail::header_checksum(fixed);
  const detail::HeaderCheck check = detail::check_header(fixed, test::kReady, fixed.total_size,
                                                         test::expectation(Expect::bytes_object));
  EXPECT_EQ(check.verdict, HeaderVerdict::invalid);
  EXPECT_NE(check.problem.find("larger than the maximum 70368744177664"), std::string::npos)
      << check.problem;
}

TEST(HeaderCheck, DataAreaOfTheMaximumSizeIsValid) {
  FixedHeader fixed = test::valid_header();
  fixed.data_size = detail::kMaxDataSize;
  fixed.total_size = fixed.data_offset + fixed.data_size;
  fixed.checksum = detail::header_checksum(fixed);
  EXPECT_EQ(detail::check_header(fixed, test::kReady, fixed.total_size,
                                 test::expectation(Expect::bytes_object))
                .verdict,
            HeaderVerdict::valid);
}

// Segment::open copies only the magic while the state is not ready.
TEST(HeaderCheck, MagicAloneWhileInitialisingIsNotReady) {
  FixedHeader fixed{};
  fixed.magic = detail::kMagic;
  for (const std::uint32_t state : {0u, test::kInitialising}) {
    EXPECT_EQ(detail::check_header(fixed, state, test::kFileSize, {}).verdict,
              HeaderVerdict::not_ready);
  }
}

// ---- the same corpus through Segment::open ----------------------------------

class SegmentOpenCorpus : public ::testing::TestWithParam<BrokenCase> {
 protected:
  test::TempDir dir_;

  [[nodiscard]] SegmentOptions options_for(Expect expect) const {
    SegmentOptions options;
    options.directory = dir_.path();
    options.ready_timeout = std::chrono::milliseconds(30);
    switch (expect) {
      case Expect::any: options.any_kind = true; break;
      case Expect::bytes_kind:  // open() always checks a type; these files store bytes
      case Expect::bytes_object: break;
      case Expect::int32_object: options.type = test::int32_type(); break;
      case Expect::mutex_kind: options.kind = Kind::mutex; break;
      case Expect::unknown_kind: options.kind = static_cast<Kind>(test::kUnknownKind); break;
    }
    return options;
  }

  void write_object(const std::string& name, const Bytes& file) const {
    std::ofstream out(dir_.path() + "/" + Segment::file_name(name), std::ios::binary);
    out.write(reinterpret_cast<const char*>(file.data()),  // NOLINT: bytes to a stream
              static_cast<std::streamsize>(file.size()));
    ASSERT_TRUE(out.good());
  }
};

TEST_P(SegmentOpenCorpus, ThrowsTheSameCodeWithAMessageNamingTheObject) {
  const BrokenCase& c = GetParam();
  Bytes file = c.file;
  if (c.live_creator) {
    ASSERT_GE(file.size(), test::kCreatorSlotOffset + 8);
    const std::uint64_t me = ProcessIdentity::self().pack();
    std::memcpy(file.data() + test::kCreatorSlotOffset, &me, sizeof me);
  }
  const std::string& name = c.name;
  write_object(name, file);
  const SegmentOptions options = options_for(c.expect);

  if (c.verdict == HeaderVerdict::valid) {
    const Segment segment = Segment::open(name, options);
    EXPECT_EQ(segment.data().size(), test::check_input(file.data(), file.size()).fixed.data_size);
    return;
  }
  Errc code = c.code;
  std::vector<std::string> fragments = c.message;
  if (c.verdict == HeaderVerdict::not_ready) {
    // open() waits for the creator: a live one runs out the timeout, a dead
    // one (its attach entry names no live process) is reported at once.
    const bool initialising =
        test::check_input(file.data(), file.size()).state == test::kInitialising;
    if (initialising && !c.live_creator) {
      code = Errc::corrupt;
      fragments = {"died while initialising",
                   "remove it with: shmkit --dir " + dir_.path() + " rm " + c.name};
    } else {
      code = Errc::timeout;
      fragments.emplace_back("is not ready after 30 ms");
      fragments.emplace_back("if no process is creating it, remove it with: shmkit --dir " +
                             dir_.path() + " rm " + c.name);
    }
  }
  try {
    const Segment segment = Segment::open(name, options);
    ADD_FAILURE() << "opened a broken object";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::error_code(code)) << e.what();
    const std::string message = e.what();
    expect_fragments(message, {"object '" + name + "'", dir_.path() + "/shmkit." + name});
    expect_fragments(message, fragments);
  }
}

INSTANTIATE_TEST_SUITE_P(Broken, SegmentOpenCorpus,
                         ::testing::ValuesIn(test::broken_header_corpus()), case_name);

}  // namespace
}  // namespace shmkit
