// Object names (segment.hpp: is_valid_name, validate_name, and how every entry
// point applies them).

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/segment.hpp"
#include "test_support.hpp"

namespace shmkit {
namespace {

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> bad_names() {
  return {"",
          std::string(201, 'a'),
          "a/b",
          "/a",
          "a b",
          " ",
          "caf\xc3\xa9",   // "café" in UTF-8
          "\xe2\x98\x83",  // a snowman
          std::string("a\0b", 3),
          "a:b",
          "a*",
          "a\n",
          "~a",
          "$HOME"};
}

TEST(Name, AcceptsOneTo200OfTheAllowedCharacters) {
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("ABCXYZabcxyz0189._-"));
  EXPECT_TRUE(is_valid_name("."));
  EXPECT_TRUE(is_valid_name(".."));
  EXPECT_TRUE(is_valid_name("-"));
  EXPECT_TRUE(is_valid_name(std::string(200, 'z')));
  EXPECT_NO_THROW(validate_name(std::string(200, 'z')));
}

TEST(Name, RejectsEmptyTooLongSlashSpaceAndNonAscii) {
  for (const std::string& name : bad_names()) {
    EXPECT_FALSE(is_valid_name(name)) << name;
    EXPECT_EQ(test::thrown_by([&] { validate_name(name); }).code,
              make_error_code(Errc::invalid_name))
        << name;
  }
}

TEST(Name, ErrorSaysWhatIsWrong) {
  EXPECT_NE(test::thrown_by([] { validate_name(""); }).message.find("empty"), std::string::npos);
  EXPECT_NE(test::thrown_by([] { validate_name(std::string(201, 'a')); }).message.find("201"),
            std::string::npos);
  const std::string slash = test::thrown_by([] { validate_name("a/b"); }).message;
  EXPECT_NE(slash.find("'a/b'"), std::string::npos) << slash;
  EXPECT_NE(slash.find("A-Z a-z 0-9 . _ -"), std::string::npos) << slash;
  // Bytes a terminal would not show whole (a NUL cuts a C string short, a
  // newline splits the one line) are shown as \xNN.
  const std::string odd = test::thrown_by([] { validate_name(std::string("a\0b\nc", 5)); }).message;
  EXPECT_NE(odd.find("'a\\x00b\\x0ac'"), std::string::npos) << odd;
  EXPECT_EQ(odd.find('\0'), std::string::npos);
  EXPECT_EQ(odd.find('\n'), std::string::npos);
}

TEST(Name, EveryEntryPointRejectsABadNameAndCreatesNothing) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path();
  const auto invalid = make_error_code(Errc::invalid_name);
  for (const std::string& name : bad_names()) {
    EXPECT_EQ(test::thrown_by([&] { Segment::create(name, 100, options); }).code, invalid) << name;
    EXPECT_EQ(test::thrown_by([&] { Segment::create(name, 100); }).code, invalid) << name;
    EXPECT_EQ(test::thrown_by([&] { Segment::open_or_create(name, 100, options); }).code, invalid)
        << name;
    EXPECT_EQ(test::thrown_by([&] { Segment::open(name, options); }).code, invalid) << name;
    EXPECT_EQ(test::thrown_by([&] { Segment::remove(name, options); }).code, invalid) << name;
    std::error_code ec;
    EXPECT_FALSE(Segment::open(name, options, ec).has_value());
    EXPECT_EQ(ec, invalid) << name;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  // Nothing escaped the directory either: "a/b" would be shmkit.a/b.
  EXPECT_FALSE(file_exists(dir.path() + "/shmkit.a"));
  EXPECT_FALSE(file_exists("/dev/shm/shmkit.a"));
}

TEST(Name, A200CharacterNameWorksInDevShm) {
  std::string name = test::unique_name("long");
  name.resize(200, 'x');
  ASSERT_TRUE(is_valid_name(name));
  {
    Segment s = Segment::create(name, 100);
    s.data()[0] = std::byte{1};
    EXPECT_EQ(s.path(), "/dev/shm/shmkit." + name);
    EXPECT_TRUE(file_exists(s.path()));
    EXPECT_EQ(Segment::open(name).data()[0], std::byte{1});
  }
  EXPECT_TRUE(Segment::remove(name));
  EXPECT_FALSE(file_exists("/dev/shm/shmkit." + name));
}

TEST(Name, NamesAreNeverRewritten) {
  // Case, dots, dashes and underscores are kept exactly as given.
  test::ScopedName name("Mixed.CASE__x--");
  const Segment s = Segment::create(name, 100);
  EXPECT_EQ(s.name(), name.str());
  EXPECT_TRUE(file_exists("/dev/shm/shmkit." + name.str()));
  const std::vector<std::string> all = Segment::list();
  EXPECT_NE(std::find(all.begin(), all.end(), name.str()), all.end());
  // Another spelling is another object.
  std::string lower = name.str();
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(test::thrown_by([&] { Segment::open(lower); }).code, make_error_code(Errc::not_found));
}

}  // namespace
}  // namespace shmkit
