#include "shmkit/segment.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "shmkit/detail/segment_layout.hpp"
#include "test_support.hpp"

namespace shmkit {
namespace {

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

std::error_code code(Errc e) { return make_error_code(e); }

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path << ": " << std::generic_category().message(errno);
  return st;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::size_t files_in(const std::string& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                std::filesystem::directory_iterator()));
}

void fill_pattern(std::span<std::byte> data, unsigned seed) {
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte((i * 31 + seed) & 0xff);
}

bool has_pattern(std::span<const std::byte> data, unsigned seed) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] != std::byte((i * 31 + seed) & 0xff)) return false;
  }
  return true;
}

// Sets the process umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

// Sets $SHMKIT_DIR for one scope (tests run single-threaded here).
class ScopedShmkitDir {
 public:
  explicit ScopedShmkitDir(const std::string& dir) {
    if (const char* old = std::getenv("SHMKIT_DIR")) old_ = old;  // NOLINT(concurrency-mt-unsafe)
    ::setenv("SHMKIT_DIR", dir.c_str(), 1);                       // NOLINT(concurrency-mt-unsafe)
  }
  ScopedShmkitDir(const ScopedShmkitDir&) = delete;
  ScopedShmkitDir& operator=(const ScopedShmkitDir&) = delete;
  ~ScopedShmkitDir() {
    if (old_) {
      ::setenv("SHMKIT_DIR", old_->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      ::unsetenv("SHMKIT_DIR");  // NOLINT(concurrency-mt-unsafe)
    }
  }

 private:
  std::optional<std::string> old_;
};

std::size_t live_entries(const Segment& segment) {
  const auto all = segment.attached();
  return static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [](const ProcessStatus& s) { return s.alive; }));
}

// --- create, open, remove --------------------------------------------------

TEST(Segment, CreateThenOpenSeesTheSameBytes) {
  test::ScopedName name("roundtrip");
  Segment created = Segment::create(name, 10000);
  fill_pattern(created.data(), 3);
  const Segment opened = Segment::open(name);
  EXPECT_EQ(opened.data().size(), 10000u);
  EXPECT_TRUE(has_pattern(opened.data(), 3));
  // And back: the two handles map the same memory.
  opened.data()[9999] = std::byte{0xEE};
  EXPECT_EQ(created.data()[9999], std::byte{0xEE});
}

TEST(Segment, CreateIsExclusive) {
  test::ScopedName name("exclusive");
  Segment first = Segment::create(name, 100);
  first.data()[0] = std::byte{1};
  const test::Thrown t = test::thrown_by([&] { Segment::create(name, 100); });
  EXPECT_EQ(t.code, code(Errc::already_exists));
  EXPECT_NE(t.message.find(name.str()), std::string::npos) << t.message;
  EXPECT_EQ(first.data()[0], std::byte{1});  // the existing object is untouched
}

TEST(Segment, OpenOfAMissingNameIsNotFound) {
  test::ScopedName name("missing");
  const test::Thrown t = test::thrown_by([&] { Segment::open(name); });
  EXPECT_EQ(t.code, code(Errc::not_found));
  EXPECT_NE(t.message.find(name.str()), std::string::npos) << t.message;

  std::error_code ec;
  EXPECT_FALSE(Segment::open(name, {}, ec).has_value());
  EXPECT_EQ(ec, code(Errc::not_found));
  EXPECT_FALSE(file_exists("/dev/shm/" + Segment::file_name(name)));
}

TEST(Segment, NonThrowingOpenReturnsTheSegment) {
  test::ScopedName name("nothrow");
  const Segment created = Segment::create(name, 64);
  std::error_code ec = make_error_code(Errc::corrupt);
  const std::optional<Segment> opened = Segment::open(name, {}, ec);
  ASSERT_TRUE(opened.has_value());
  EXPECT_FALSE(ec);
  EXPECT_EQ(opened->data().size(), 64u);
}

TEST(Segment, RemoveReturnsTrueThenFalse) {
  test::ScopedName name("remove");
  const std::string path = "/dev/shm/" + Segment::file_name(name);
  { const Segment s = Segment::create(name, 100); }
  EXPECT_TRUE(file_exists(path));
  EXPECT_TRUE(Segment::remove(name));
  EXPECT_FALSE(file_exists(path));
  EXPECT_FALSE(Segment::remove(name));
  EXPECT_EQ(test::thrown_by([&] { Segment::open(name); }).code, code(Errc::not_found));
}

TEST(Segment, RemoveKeepsExistingMappingsValid) {
  test::ScopedName name("remove-mapped");
  Segment s = Segment::create(name, 100);
  EXPECT_TRUE(Segment::remove(name));
  s.data()[99] = std::byte{9};
  EXPECT_EQ(s.data()[99], std::byte{9});
  // The name is free again.
  const Segment again = Segment::create(name, 100);
  EXPECT_EQ(again.data()[99], std::byte{0});
}

TEST(Segment, RemoveRefusesAFileThatIsNotAShmkitObject) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path();
  const std::string path = dir.path() + "/" + Segment::file_name("garbage");
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    const std::string text(1000, 'g');
    ASSERT_EQ(::write(fd, text.data(), text.size()), 1000);
    ::close(fd);
  }
  const test::Thrown t = test::thrown_by([&] { Segment::remove("garbage", options); });
  EXPECT_EQ(t.code, code(Errc::corrupt));
  EXPECT_NE(t.message.find("not a shmkit object"), std::string::npos) << t.message;
  EXPECT_TRUE(file_exists(path));
}

// A file `size` bytes of 'x' except for a zero first word (where the magic
// goes) and a zero state word: not a shmkit object, though its magic is zero
// as in a reserved file whose creator has not written it yet.
void write_zero_magic_file(const std::string& path, std::size_t size) {
  std::vector<char> bytes(size, 'x');
  std::memset(bytes.data(), 0, sizeof(std::uint32_t));
  std::memset(bytes.data() + offsetof(detail::SegmentHeader, state), 0, sizeof(std::uint32_t));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(size));
  ::close(fd);
}

TEST(Segment, OpenOfAForeignFileWithAZeroMagicIsCorruptWithoutWaiting) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path();
  options.any_kind = true;
  options.ready_timeout = std::chrono::seconds(5);  // a wait would show as a timeout
  write_zero_magic_file(dir.path() + "/" + Segment::file_name("foreign"), 4096);
  const test::Thrown t = test::thrown_by([&] { Segment::open("foreign", options); });
  EXPECT_EQ(t.code, code(Errc::corrupt)) << t.message;
  EXPECT_NE(t.message.find("not a shmkit object"), std::string::npos) << t.message;
}

TEST(Segment, RemoveRefusesAForeignFileWithAZeroMagic) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path();
  for (const std::size_t size : {std::size_t{640}, std::size_t{4096}, std::size_t{10000}}) {
    const std::string path = dir.path() + "/" + Segment::file_name("foreign");
    write_zero_magic_file(path, size);
    const test::Thrown t = test::thrown_by([&] { Segment::remove("foreign", options); });
    EXPECT_EQ(t.code, code(Errc::corrupt)) << size << " bytes: " << t.message;
    EXPECT_NE(t.message.find("not a shmkit object"), std::string::npos) << t.message;
    EXPECT_TRUE(file_exists(path)) << size << " bytes";
    ::unlink(path.c_str());
  }
}

// A creator reserves the header area (all zero) before it writes the magic:
// such a file is still taken for a shmkit object being created.
TEST(Segment, AReservedAllZeroFileIsWaitedForAndRemovable) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path();
  options.ready_timeout = std::chrono::milliseconds(30);
  const std::string path = dir.path() + "/" + Segment::file_name("reserved");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(detail::kDataAlignment)), 0);
  ::close(fd);
  EXPECT_EQ(test::thrown_by([&] { Segment::open("reserved", options); }).code, code(Errc::timeout));
  EXPECT_TRUE(Segment::remove("reserved", options));
  EXPECT_FALSE(file_exists(path));
}

// --- sizes and layout ------------------------------------------------------

TEST(Segment, ZeroSizeIsRejectedAndNothingIsCreated) {
  test::ScopedName name("size0");
  const test::Thrown t = test::thrown_by([&] { Segment::create(name, 0); });
  EXPECT_EQ(t.code, std::make_error_code(std::errc::invalid_argument));
  EXPECT_FALSE(file_exists("/dev/shm/" + Segment::file_name(name)));
}

TEST(Segment, SizeAboveTheLimitIsRejectedAndNothingIsCreated) {
  test::ScopedName name("size-big");
  const test::Thrown t = test::thrown_by([&] { Segment::create(name, detail::kMaxDataSize + 1); });
  EXPECT_EQ(t.code, std::make_error_code(std::errc::invalid_argument));
  const test::Thrown huge = test::thrown_by([&] { Segment::create(name, ~std::uint64_t{0}); });
  EXPECT_EQ(huge.code, std::make_error_code(std::errc::invalid_argument));
  EXPECT_FALSE(file_exists("/dev/shm/" + Segment::file_name(name)));
}

TEST(Segment, DataAreaIsPageAlignedAt4096FromTheStartOfTheFile) {
  test::ScopedName name("layout");
  const Segment s = Segment::create(name, 5000);
  EXPECT_EQ(s.header().data_offset, 4096u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.data().data()) % 4096, 0u);  // NOLINT
  fill_pattern(s.data(), 11);
  // Another program mapping the file finds the bytes at offset 4096.
  const int fd = ::open(s.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> file_bytes(5000);
  EXPECT_EQ(::pread(fd, file_bytes.data(), file_bytes.size(), 4096), 5000);
  ::close(fd);
  EXPECT_TRUE(has_pattern(file_bytes, 11));
}

TEST(Segment, DataSizeIsWhatWasAsked) {
  for (const std::uint64_t size : {std::uint64_t{1}, std::uint64_t{4095}, std::uint64_t{4096},
                                   std::uint64_t{4097}, std::uint64_t{1} << 20}) {
    test::ScopedName name("size");
    const Segment s = Segment::create(name, size);
    EXPECT_EQ(s.data().size(), size);
    EXPECT_EQ(s.header().data_size, size);
    EXPECT_EQ(s.header().total_size, 4096 + size);
    EXPECT_EQ(static_cast<std::uint64_t>(stat_of(s.path()).st_size), 4096 + size);
    // Zero-filled, and every byte can be touched.
    EXPECT_TRUE(std::all_of(s.data().begin(), s.data().end(),
                            [](std::byte b) { return b == std::byte{0}; }));
    std::memset(s.data().data(), 0xAB, s.data().size());
    EXPECT_EQ(Segment::open(name).data().size(), size);
  }
}

// --- identity of the object ------------------------------------------------

TEST(Segment, CreatedIsTrueOnlyForTheCreator) {
  test::ScopedName name("created");
  const Segment creator = Segment::create(name, 100);
  const Segment opener = Segment::open(name);
  EXPECT_TRUE(creator.created());
  EXPECT_FALSE(opener.created());
  const Segment other = Segment::open_or_create(name, 100);
  EXPECT_FALSE(other.created());
}

TEST(Segment, RecordsKindTypeCreatorAndTime) {
  test::ScopedName name("recorded");
  SegmentOptions options;
  options.type = TypeFingerprint::of<std::int64_t>();
  const auto before = std::chrono::system_clock::now();
  const Segment created = Segment::create(name, 800, options);
  const auto after = std::chrono::system_clock::now();
  const Segment opened = Segment::open(name, options);
  for (const Segment* s : {&created, &opened}) {
    EXPECT_EQ(s->kind(), Kind::bytes);
    EXPECT_EQ(s->type(), TypeFingerprint::of<std::int64_t>());
    EXPECT_EQ(s->type().name_string(), "int64");
    EXPECT_EQ(s->creator(), ProcessIdentity::self());
    EXPECT_EQ(s->name(), name.str());
    EXPECT_EQ(s->directory(), "/dev/shm");
    EXPECT_EQ(s->path(), "/dev/shm/shmkit." + name.str());
    EXPECT_LE(before, s->created_time());
    EXPECT_LE(s->created_time(), after);
  }
  // A tool that opens any kind sees the same record.
  SegmentOptions any;
  any.any_kind = true;
  any.type = TypeFingerprint::of<float>();  // ignored with any_kind
  const Segment tool = Segment::open(name, any);
  EXPECT_EQ(tool.type(), TypeFingerprint::of<std::int64_t>());
}

TEST(Segment, OpenWithAnotherTypeIsTypeMismatch) {
  test::ScopedName name("type");
  SegmentOptions options;
  options.type = TypeFingerprint::of<std::int32_t>();
  const Segment created = Segment::create(name, 400, options);
  SegmentOptions other;
  other.type = TypeFingerprint::of<std::uint32_t>();
  const test::Thrown t = test::thrown_by([&] { Segment::open(name, other); });
  EXPECT_EQ(t.code, code(Errc::type_mismatch));
  EXPECT_NE(t.message.find("int32"), std::string::npos) << t.message;
  EXPECT_NE(t.message.find("uint32"), std::string::npos) << t.message;
  EXPECT_EQ(test::thrown_by([&] { Segment::open_or_create(name, 400, other); }).code,
            code(Errc::type_mismatch));
  EXPECT_EQ(live_entries(created), 1u);  // the failed opens left no entry
}

// --- handles ---------------------------------------------------------------

TEST(Segment, MoveConstructionTransfersTheMappingAndTheEntry) {
  test::ScopedName name("move");
  Segment a = Segment::create(name, 100);
  a.data()[5] = std::byte{5};
  std::byte* const data = a.data().data();
  Segment b(std::move(a));
  EXPECT_EQ(b.data().data(), data);
  EXPECT_EQ(b.data()[5], std::byte{5});
  EXPECT_TRUE(b.is_attached());
  EXPECT_TRUE(b.created());
  EXPECT_EQ(b.name(), name.str());
  // A moved-from handle is empty (the NOLINTs: checking it is the point).
  EXPECT_FALSE(a.is_attached());  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_TRUE(a.data().empty());  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_EQ(b.attached().size(), 1u);
  { const Segment gone = std::move(a); }  // destroying a moved-from handle detaches nothing
  EXPECT_EQ(live_entries(b), 1u);
}

TEST(Segment, MoveAssignmentReleasesTheOldHandle) {
  test::ScopedName first("move-a");
  test::ScopedName second("move-b");
  Segment a = Segment::create(first, 100);
  Segment b = Segment::create(second, 200);
  const Segment watch_a = Segment::open(first);
  const Segment watch_b = Segment::open(second);
  EXPECT_EQ(live_entries(watch_a), 2u);
  EXPECT_EQ(live_entries(watch_b), 2u);
  a = std::move(b);
  EXPECT_EQ(live_entries(watch_a), 1u);  // a's old entry is released
  EXPECT_EQ(live_entries(watch_b), 2u);  // b's entry moved into a, still held
  EXPECT_EQ(a.name(), second.str());
  EXPECT_EQ(a.data().size(), 200u);
  EXPECT_TRUE(a.is_attached());
  EXPECT_FALSE(b.is_attached());  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_TRUE(b.data().empty());  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  Segment& same = a;
  a = std::move(same);  // self-move keeps the handle
  EXPECT_EQ(live_entries(watch_b), 2u);
}

TEST(Segment, OpeningAttachesAndClosingDetaches) {
  test::ScopedName name("attach");
  const Segment creator = Segment::create(name, 100);
  ASSERT_EQ(creator.attached().size(), 1u);
  EXPECT_TRUE(creator.is_attached());
  EXPECT_EQ(creator.attached()[0].process, ProcessIdentity::self());
  EXPECT_TRUE(creator.attached()[0].alive);
  {
    const Segment opener = Segment::open(name);
    EXPECT_TRUE(opener.is_attached());
    const auto all = creator.attached();
    ASSERT_EQ(all.size(), 2u);
    for (const ProcessStatus& s : all) {
      EXPECT_EQ(s.process, ProcessIdentity::self());
      EXPECT_TRUE(s.alive);
    }
  }
  EXPECT_EQ(creator.attached().size(), 1u);
}

TEST(Segment, ReadOnlyOpenDoesNotAttach) {
  test::ScopedName name("readonly");
  Segment creator = Segment::create(name, 100);
  creator.data()[1] = std::byte{42};
  SegmentOptions options;
  options.writable = false;
  const Segment viewer = Segment::open(name, options);
  EXPECT_FALSE(viewer.writable());
  EXPECT_FALSE(viewer.is_attached());
  EXPECT_EQ(viewer.data()[1], std::byte{42});
  EXPECT_EQ(viewer.attached().size(), 1u);
}

TEST(Segment, SixtyFifthHandleIsOpenedButNotAttached) {
  test::ScopedName name("full");
  Segment creator = Segment::create(name, 100);
  std::vector<Segment> handles;
  for (std::uint32_t i = 1; i < detail::kAttachSlots; ++i) {
    handles.push_back(Segment::open(name));
    ASSERT_TRUE(handles.back().is_attached()) << i;
  }
  EXPECT_EQ(live_entries(creator), 64u);
  Segment extra = Segment::open(name);
  EXPECT_FALSE(extra.is_attached());
  extra.data()[0] = std::byte{7};  // still a working handle
  EXPECT_EQ(creator.data()[0], std::byte{7});
  EXPECT_EQ(creator.attached().size(), 64u);
  { const Segment gone = std::move(extra); }
  EXPECT_EQ(live_entries(creator), 64u);  // closing it freed nobody's entry
  handles.pop_back();
  EXPECT_EQ(live_entries(creator), 63u);
  EXPECT_TRUE(Segment::open(name).is_attached());  // a freed entry is taken again
  handles.clear();
  EXPECT_EQ(creator.attached().size(), 1u);
}

// --- permissions -----------------------------------------------------------

TEST(Segment, ModeIs0600ByDefault) {
  const ScopedUmask umask(0);  // the default is not widened by a permissive umask
  test::ScopedName name("mode");
  const Segment s = Segment::create(name, 100);
  const struct stat st = stat_of("/dev/shm/shmkit." + name.str());
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(s.mode(), 0600u);
  EXPECT_EQ(Segment::open(name).mode(), 0600u);
}

TEST(Segment, ExplicitModeIsExactEvenUnderUmask077) {
  const ScopedUmask umask(077);
  for (const std::uint32_t mode : {0644u, 0666u, 0640u, 0400u}) {
    test::ScopedName name("mode");
    SegmentOptions options;
    options.mode = mode;
    const Segment s = Segment::create(name, 100, options);
    EXPECT_EQ(stat_of(s.path()).st_mode & 07777, mode);
    EXPECT_EQ(s.mode(), mode);
  }
}

TEST(Segment, ModeOutsideThePermissionBitsIsRejected) {
  test::ScopedName name("mode-bad");
  SegmentOptions options;
  options.mode = 04755;
  EXPECT_EQ(test::thrown_by([&] { Segment::create(name, 100, options); }).code,
            std::make_error_code(std::errc::invalid_argument));
  EXPECT_FALSE(file_exists("/dev/shm/shmkit." + name.str()));
}

TEST(Segment, OpenDoesNotChangeTheMode) {
  test::ScopedName name("mode-open");
  SegmentOptions options;
  options.mode = 0640;
  const Segment s = Segment::create(name, 100, options);
  SegmentOptions other;
  other.mode = 0666;  // ignored by open
  const Segment opened = Segment::open(name, other);
  const Segment again = Segment::open_or_create(name, 100, other);
  EXPECT_EQ(stat_of(s.path()).st_mode & 07777, 0640u);
}

// --- directories -----------------------------------------------------------

TEST(Segment, ShmkitDirEnvironmentVariableChoosesTheDirectory) {
  const test::TempDir dir;
  const ScopedShmkitDir env(dir.path());
  test::ScopedName name("envdir", dir.path());
  {
    const Segment s = Segment::create(name, 100);
    EXPECT_EQ(s.directory(), dir.path());
    EXPECT_EQ(s.path(), dir.path() + "/shmkit." + name.str());
    EXPECT_TRUE(file_exists(s.path()));
    EXPECT_FALSE(file_exists("/dev/shm/shmkit." + name.str()));
    EXPECT_EQ(Segment::open(name).directory(), dir.path());
    EXPECT_EQ(Segment::list(), std::vector<std::string>{name.str()});
  }
  EXPECT_TRUE(Segment::remove(name));
  EXPECT_EQ(files_in(dir.path()), 0u);
}

TEST(Segment, DirectoryOptionWinsOverTheEnvironment) {
  const test::TempDir env_dir;
  const test::TempDir option_dir;
  const ScopedShmkitDir env(env_dir.path());
  test::ScopedName name("optdir", option_dir.path());
  SegmentOptions options;
  options.directory = option_dir.path();
  const Segment s = Segment::create(name, 100, options);
  EXPECT_EQ(s.directory(), option_dir.path());
  EXPECT_TRUE(file_exists(option_dir.path() + "/shmkit." + name.str()));
  EXPECT_EQ(files_in(env_dir.path()), 0u);
  EXPECT_EQ(test::thrown_by([&] { Segment::open(name); }).code, code(Errc::not_found));
  EXPECT_EQ(Segment::open(name, options).data().size(), 100u);
}

TEST(Segment, CreateOrOpenInAMissingDirectorySaysTheDirectoryDoesNotExist) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path() + "/no-such-dir";
  const test::Thrown created = test::thrown_by([&] { Segment::create("obj", 64, options); });
  EXPECT_EQ(created.code, code(Errc::not_found)) << created.message;
  EXPECT_NE(created.message.find("directory " + options.directory + " does not exist"),
            std::string::npos)
      << created.message;
  const test::Thrown opened = test::thrown_by([&] { Segment::open("obj", options); });
  EXPECT_EQ(opened.code, code(Errc::not_found)) << opened.message;
  EXPECT_NE(opened.message.find("directory " + options.directory + " does not exist"),
            std::string::npos)
      << opened.message;
  EXPECT_EQ(files_in(dir.path()), 0u);
}

TEST(Segment, ListReturnsTheSortedNamesOfTheObjects) {
  const test::TempDir dir;
  SegmentOptions options;
  options.directory = dir.path();
  EXPECT_TRUE(Segment::list(options).empty());
  for (const char* n : {"b", "a.x", "C", "a"}) Segment::create(n, 10, options);
  {  // a file that is not an object is not listed
    const int fd = ::open((dir.path() + "/other").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  EXPECT_EQ(Segment::list(options), (std::vector<std::string>{"C", "a", "a.x", "b"}));
}

TEST(Segment, OutOfSpaceIsAnErrorAndLeavesNoFile) {
  const test::TmpfsMount tmpfs(1 << 20);
  if (!tmpfs.ok()) GTEST_SKIP() << tmpfs.reason();
  SegmentOptions options;
  options.directory = tmpfs.path();
  const test::Thrown t = test::thrown_by([&] { Segment::create("big", 4 << 20, options); });
  EXPECT_EQ(t.code, code(Errc::out_of_space));
  EXPECT_NE(t.message.find("big"), std::string::npos) << t.message;
  EXPECT_EQ(files_in(tmpfs.path()), 0u);
  EXPECT_EQ(test::thrown_by([&] { Segment::open_or_create("big", 4 << 20, options); }).code,
            code(Errc::out_of_space));
  EXPECT_EQ(files_in(tmpfs.path()), 0u);

  // A smaller one fits, and every byte of it is really there (no SIGBUS).
  const Segment small = Segment::create("small", 256 << 10, options);
  std::memset(small.data().data(), 0x5A, small.data().size());
  // What is left cannot hold another 1 MiB.
  EXPECT_EQ(test::thrown_by([&] { Segment::create("big", 1 << 20, options); }).code,
            code(Errc::out_of_space));
  EXPECT_EQ(Segment::list(options), std::vector<std::string>{"small"});
}

// --- open_or_create and initialisation ---------------------------------------

TEST(Segment, OpenOrCreateCreatesOnceAndTheCreatorsSizeWins) {
  test::ScopedName name("ooc");
  SegmentOptions options;
  int calls = 0;
  options.initialize = [&](std::span<std::byte> data) {
    ++calls;
    fill_pattern(data, 1);
  };
  const Segment first = Segment::open_or_create(name, 300, options);
  const Segment second = Segment::open_or_create(name, 900, options);
  EXPECT_TRUE(first.created());
  EXPECT_FALSE(second.created());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(second.data().size(), 300u);
  EXPECT_TRUE(has_pattern(second.data(), 1));
}

TEST(Segment, InitializeSeesAZeroedAreaAndItsWritesArePublished) {
  test::ScopedName name("init");
  SegmentOptions options;
  bool zeroed = false;
  options.initialize = [&](std::span<std::byte> data) {
    zeroed = data.size() == 5000 &&
             std::all_of(data.begin(), data.end(), [](std::byte b) { return b == std::byte{0}; });
    fill_pattern(data, 2);
  };
  const Segment created = Segment::create(name, 5000, options);
  EXPECT_TRUE(zeroed);
  EXPECT_TRUE(has_pattern(Segment::open(name).data(), 2));
}

TEST(Segment, AFailingInitializeLeavesNoFile) {
  test::ScopedName name("init-throws");
  SegmentOptions options;
  options.initialize = [](std::span<std::byte>) { throw std::runtime_error("no"); };
  EXPECT_THROW(Segment::create(name, 100, options), std::runtime_error);
  EXPECT_FALSE(file_exists("/dev/shm/shmkit." + name.str()));
}

// A creator (thread) whose initialize blocks until released; openers in other
// threads of this process share nothing with it but the segment.
TEST(Segment, OpenWaitsForACreatorThatIsInitialising) {
  test::ScopedName name("waits");
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  SegmentOptions create_options;
  create_options.initialize = [&](std::span<std::byte> data) {
    entered.set_value();
    released.wait();
    fill_pattern(data, 9);
  };
  test::Thrown creator_error;
  std::thread creator([&] {
    creator_error = test::thrown_by([&] { Segment::create(name, 4096, create_options); });
  });
  const bool in_init =
      entered.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  EXPECT_TRUE(in_init);

  // While it initialises: a short wait times out, saying why.
  SegmentOptions short_wait;
  short_wait.ready_timeout = std::chrono::milliseconds(20);
  const test::Thrown early = test::thrown_by([&] { Segment::open(name, short_wait); });
  EXPECT_EQ(early.code, code(Errc::timeout));
  EXPECT_NE(early.message.find("not ready"), std::string::npos) << early.message;
  EXPECT_EQ(test::thrown_by([&] { Segment::open_or_create(name, 4096, short_wait); }).code,
            code(Errc::timeout));

  // A patient opener waits, then sees everything initialize wrote.
  SegmentOptions long_wait;
  long_wait.ready_timeout = std::chrono::seconds(60);
  bool opener_saw_pattern = false;
  test::Thrown opener_error;
  std::thread opener([&] {
    opener_error = test::thrown_by([&] {
      const Segment s = Segment::open(name, long_wait);
      opener_saw_pattern = has_pattern(s.data(), 9);
    });
  });
  release.set_value();
  creator.join();
  opener.join();
  EXPECT_FALSE(creator_error.code) << creator_error.message;
  EXPECT_FALSE(opener_error.code) << opener_error.message;
  EXPECT_TRUE(opener_saw_pattern);
}

// Whether the file at `path` has its header's state at initialising and is
// shorter than `full`.
bool initialising_and_short(const std::string& path, std::uint64_t full) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  std::uint32_t state = 0;
  const bool read = ::fstat(fd, &st) == 0 &&
                    ::pread(fd, &state, sizeof state, offsetof(detail::SegmentHeader, state)) ==
                        static_cast<ssize_t>(sizeof state);
  ::close(fd);
  return read && static_cast<std::uint64_t>(st.st_size) < full &&
         state == static_cast<std::uint32_t>(detail::SegmentState::initialising);
}

// A creator killed while it reserves a large object (posix_fallocate of
// hundreds of MiB takes a while on tmpfs) has already recorded itself in the
// header: open reports it at once, instead of waiting out its timeout on an
// anonymous empty file.
TEST(Segment, ACreatorKilledWhileReservingALargeObjectIsReportedAtOnce) {
  constexpr std::uint64_t kSize = std::uint64_t{256} << 20;
  int caught = 0;
  for (int trial = 0; trial < 5 && caught == 0; ++trial) {
    test::ScopedName name("big-create");
    const std::string path = "/dev/shm/" + Segment::file_name(name.str());
    const pid_t creator = test::fork_child([&] { Segment::create(name, kSize); });
    // Wait for the header to say initialising (the creator has recorded
    // itself) while the file is still short of its full size. (Between its
    // O_EXCL open and that store, microseconds, a creator killed leaves an
    // anonymous file: not what this test is about.)
    bool short_file = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (initialising_and_short(path, kSize)) {
        short_file = true;
        break;
      }
      if (test::wait_until_ended(creator, 0)) break;
    }
    ::kill(creator, SIGKILL);
    const int status = test::wait_exit_code(creator);
    if (!short_file || status != test::kKilled) continue;  // it finished first: try again
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) >= kSize) {
      continue;  // it got past the reservation before the kill landed
    }
    ++caught;
    SegmentOptions options;
    options.ready_timeout = std::chrono::seconds(2);  // an anonymous file: timeout
    const test::Thrown t = test::thrown_by([&] { Segment::open(name, options); });
    EXPECT_EQ(t.code, code(Errc::corrupt)) << t.message;
    EXPECT_NE(t.message.find("died while initialising"), std::string::npos) << t.message;
  }
  EXPECT_EQ(caught, 1) << "no kill landed inside the reservation in 5 tries";
}

// A creator whose initialize fails removes the object; an opener waiting for
// it learns that it is gone instead of waiting out its timeout, and
// open_or_create then creates the object itself.
TEST(Segment, OpenOfAnObjectWhoseCreatorFailsIsNotFound) {
  for (const bool or_create : {false, true}) {
    test::ScopedName name("init-fails");
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    SegmentOptions create_options;
    create_options.initialize = [&](std::span<std::byte>) {
      entered.set_value();
      released.wait();
      throw std::runtime_error("initialize failed");
    };
    bool creator_threw = false;
    std::thread creator([&] {
      try {
        Segment::create(name, 4096, create_options);
      } catch (const std::runtime_error&) {
        creator_threw = true;
      }
    });
    EXPECT_EQ(entered.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
    SegmentOptions long_wait;
    long_wait.ready_timeout = std::chrono::seconds(60);
    long_wait.initialize = [](std::span<std::byte> data) { fill_pattern(data, 6); };
    test::Thrown opener_error;
    bool opener_created = false;
    std::thread opener([&] {
      opener_error = test::thrown_by([&] {
        if (or_create) {
          const Segment s = Segment::open_or_create(name, 4096, long_wait);
          opener_created = s.created() && has_pattern(s.data(), 6);
        } else {
          Segment::open(name, long_wait);
        }
      });
    });
    release.set_value();
    creator.join();
    opener.join();
    EXPECT_TRUE(creator_threw);
    if (or_create) {
      EXPECT_FALSE(opener_error.code) << opener_error.message;
      EXPECT_TRUE(opener_created);
    } else {
      EXPECT_EQ(opener_error.code, code(Errc::not_found)) << opener_error.message;
    }
  }
}

// An empty file is what a creator leaves between its O_EXCL open and
// reserving the memory. If it is removed (the creator ran out of space, say),
// a waiting opener gets not_found rather than waiting out its timeout.
TEST(Segment, OpenOfAnEmptyFileThatIsRemovedIsNotFound) {
  const test::TempDir dir;
  const std::string path = dir.path() + "/" + Segment::file_name("pending");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  SegmentOptions options;
  options.directory = dir.path();
  options.ready_timeout = std::chrono::seconds(60);
  test::Thrown opener_error;
  std::thread opener(
      [&] { opener_error = test::thrown_by([&] { Segment::open("pending", options); }); });
  EXPECT_TRUE(Segment::remove("pending", options));
  opener.join();
  EXPECT_EQ(opener_error.code, code(Errc::not_found)) << opener_error.message;
}

}  // namespace
}  // namespace shmkit
