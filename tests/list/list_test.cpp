// List<T> and List<std::string> in one process: the API, errors, growth,
// stability of references, close semantics, a full file system, and threads
// sharing a list (one handle and several), so that the tsan preset sees the
// algorithm. Cross-process behaviour is in list_ipc_test.cpp and
// list_crash_test.cpp.
#include "shmkit/list.hpp"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <numeric>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "list_test_util.hpp"
#include "shmkit/array.hpp"
#include "shmkit/detail/list_geometry.hpp"
#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/shared_memory.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::code_of;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

struct Point {
  double x;
  std::int64_t id;
  std::array<char, 12> label;
  friend bool operator==(const Point&, const Point&) = default;
};

struct alignas(32) Wide {
  std::uint64_t words[5];
  friend bool operator==(const Wide&, const Wide&) = default;
};

bool chunk_file_exists(const test::ScopedList& name, char log, int k,
                       const std::string& dir = "/dev/shm") {
  struct stat st {};
  const std::string path =
      dir + "/" + Segment::file_name(name.str() + "." + log + std::to_string(k));
  return ::stat(path.c_str(), &st) == 0;
}

// --- basics ------------------------------------------------------------------

TEST(List, IntAppendSizeIndexAtIterationAndToVector) {
  const test::ScopedList name("int");
  auto list = List<int>::create(name);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.size(), 0u);
  EXPECT_FALSE(list.closed());
  for (int i = 0; i < 10; ++i) list.append(i * i);
  EXPECT_FALSE(list.empty());
  ASSERT_EQ(list.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(list[static_cast<std::uint64_t>(i)], i * i);
    EXPECT_EQ(list.at(static_cast<std::uint64_t>(i)), i * i);
  }
  std::vector<int> iterated;
  for (const int v : list) iterated.push_back(v);
  std::vector<int> expected(10);
  for (int i = 0; i < 10; ++i) expected[static_cast<std::size_t>(i)] = i * i;
  EXPECT_EQ(iterated, expected);
  EXPECT_EQ(list.to_vector(), expected);

  // Another handle in the same process sees the same items.
  const auto other = List<int>::open(name);
  EXPECT_EQ(other.to_vector(), expected);
  EXPECT_EQ(list.bytes_in_use(), 10 * (sizeof(int) + 8));  // records and index entries
  list.set(3, 7);                                          // a new record, the same entry
  EXPECT_EQ(list.bytes_in_use(), 10 * (sizeof(int) + 8) + sizeof(int));
}

TEST(List, IteratorsWorkWithStandardAlgorithmsAndRanges) {
  const test::ScopedList name("iter");
  auto list = List<int>::create(name);
  for (int i = 0; i < 5; ++i) list.append(10 - i);
  const std::vector<int> copied(list.begin(), list.end());
  EXPECT_EQ(copied, (std::vector<int>{10, 9, 8, 7, 6}));
  EXPECT_EQ(std::count_if(list.begin(), list.end(), [](int v) { return v % 2 == 0; }), 3);
  EXPECT_TRUE(std::ranges::equal(list, copied));
  auto it = list.begin();
  EXPECT_EQ(*it++, 10);
  EXPECT_EQ(*it, 9);
  // Iteration covers the items present when it started.
  std::size_t seen = 0;
  for (const int v : list) {
    (void)v;
    if (seen++ == 0) list.append(99);
  }
  EXPECT_EQ(seen, 5u);
  EXPECT_EQ(list.size(), 6u);
}

TEST(List, ExtendAppendsEveryItemInOrderAndAnEmptyExtendDoesNothing) {
  const test::ScopedList name("extend");
  auto list = List<int>::create(name);
  list.append(-1);
  list.extend(std::vector<int>{1, 2, 3});
  list.extend(std::vector<int>{});
  const std::array<int, 2> more{4, 5};
  list.extend(more);
  EXPECT_EQ(list.to_vector(), (std::vector<int>{-1, 1, 2, 3, 4, 5}));

  // A batch larger than the first index chunk (1024 entries) and data chunk.
  std::vector<int> big(5000);
  std::iota(big.begin(), big.end(), 100);
  list.extend(big);
  ASSERT_EQ(list.size(), 5006u);
  for (std::size_t i = 0; i < big.size(); ++i) ASSERT_EQ(list[6 + i], big[i]) << i;
}

// extend() takes any range: of other arithmetic types, and ranges whose items
// are made on the fly (views), which exist only while they are iterated.
TEST(List, ExtendTakesRangesOfConvertibleItemsAndGeneratedItems) {
  const test::ScopedList name("extend-any");
  const test::ScopedList string_name("extend-any-str");
  auto list = List<int>::create(name);
  list.extend(std::vector<short>{1, 2, 3});
  list.extend(std::views::iota(10, 15));
  list.extend(std::views::iota(0, 3) | std::views::transform([](int i) { return i * 100; }));
  EXPECT_EQ(list.to_vector(), (std::vector<int>{1, 2, 3, 10, 11, 12, 13, 14, 0, 100, 200}));

  auto strings = List<std::string>::create(string_name);
  const char* const literals[] = {"x", "", "zz"};
  strings.extend(literals);
  strings.extend(std::views::iota(0, 4) | std::views::transform([](int i) {
                   return std::string(static_cast<std::size_t>(100 + i),
                                      static_cast<char>('a' + i));
                 }));
  std::vector<std::string> expected{"x", "", "zz"};
  for (int i = 0; i < 4; ++i) {
    expected.emplace_back(static_cast<std::size_t>(100 + i), static_cast<char>('a' + i));
  }
  EXPECT_EQ(strings.to_vector(), expected);
}

TEST(List, SetReplacesAnItemAndLeavesTheOthers) {
  const test::ScopedList name("set");
  auto list = List<int>::create(name);
  list.extend(std::vector<int>{1, 2, 3});
  list.set(1, 20);
  list.set(0, 10);
  list.set(2, 30);
  list.set(2, 31);
  EXPECT_EQ(list.to_vector(), (std::vector<int>{10, 20, 31}));
  EXPECT_EQ(List<int>::open(name).to_vector(), (std::vector<int>{10, 20, 31}));
}

TEST(List, StructsOfAnyTriviallyCopyableTypeRoundTripExactly) {
  const test::ScopedList name("struct");
  const test::ScopedList wide_name("wide");
  auto points = List<Point>::create(name);
  auto wides = List<Wide>::create(wide_name);
  std::vector<Point> expected;
  for (int i = 0; i < 3000; ++i) {  // crosses chunk boundaries
    Point p{i * 0.5, -i, {}};
    std::snprintf(p.label.data(), p.label.size(), "p%d", i);
    expected.push_back(p);
    points.append(p);
    wides.append(Wide{{std::uint64_t(i), 1, 2, 3, ~std::uint64_t(i)}});
  }
  EXPECT_EQ(points.to_vector(), expected);
  const auto reopened = List<Point>::open(name);
  ASSERT_EQ(reopened.size(), 3000u);
  EXPECT_EQ(reopened[2999], expected[2999]);
  for (std::uint64_t i = 0; i < wides.size(); ++i) {
    const Wide& w = wides[i];
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(&w) % alignof(Wide), 0u) << i;  // NOLINT
    ASSERT_EQ(w, (Wide{{i, 1, 2, 3, ~i}})) << i;
  }
  points.set(7, Point{});
  EXPECT_EQ(reopened[7], Point{});
}

TEST(List, StringsOfVariedLengthRoundTripAcrossChunkBoundaries) {
  const test::ScopedList name("str");
  auto list = List<std::string>::create(name);
  std::vector<std::string> expected;
  const std::size_t lengths[] = {0, 1, 1000, 100 << 10, 1 << 20, 0, 3, 1 << 20, 17, 100 << 10};
  for (std::size_t n = 0; n < std::size(lengths); ++n) {
    std::string s(lengths[n], '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((i * 7 + n) & 0xff);
    list.append(s);
    expected.push_back(s);
  }
  // Embedded NULs and every byte value are kept.
  const std::string binary("a\0b\xff\x01", 5);
  list.append(binary);
  expected.push_back(binary);
  list.append(std::string_view("view"));
  expected.emplace_back("view");

  ASSERT_EQ(list.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(list[i].size(), expected[i].size()) << i;
    EXPECT_TRUE(list[i] == expected[i]) << i;
  }
  EXPECT_EQ(list.to_vector(), expected);
  EXPECT_EQ(List<std::string>::open(name).to_vector(), expected);
  // The 1 MiB items cannot fit in the 16 KiB first data chunk: chunks grew.
  EXPECT_TRUE(chunk_file_exists(name, 'd', 1));
  EXPECT_TRUE(chunk_file_exists(name, 'd', 2));
  EXPECT_GE(list.bytes_in_use(),
            std::uint64_t{2} * (1 << 20) + 2 * (std::uint64_t{100} << 10) + 1000);
}

TEST(List, ManySmallStringsFillChunksAndAllReadBack) {
  const test::ScopedList name("strs");
  auto list = List<std::string>::create(name);
  const auto n = static_cast<std::uint32_t>(test::list_scaled(20'000));
  for (std::uint32_t i = 0; i < n; ++i) list.append(test::tagged_string(0, i));
  ASSERT_EQ(list.size(), n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint32_t w = 9;
    std::uint32_t s = 0;
    ASSERT_TRUE(test::parse_tagged_string(list[i], w, s)) << i;
    ASSERT_EQ(w, 0u);
    ASSERT_EQ(s, i);
  }
  EXPECT_TRUE(chunk_file_exists(name, 'i', 1));  // more than 1024 index entries
}

TEST(List, StringListExtendTakesStringsAndViews) {
  const test::ScopedList name("strext");
  auto list = List<std::string>::create(name);
  list.extend(std::vector<std::string>{"a", "", "ccc"});
  const std::vector<std::string_view> views{"x", "yy"};
  list.extend(views);
  list.set(1, "now-long-" + std::string(50'000, 'q'));
  EXPECT_EQ(list.to_vector(), (std::vector<std::string>{"a", "now-long-" + std::string(50'000, 'q'),
                                                        "ccc", "x", "yy"}));
}

// --- errors ------------------------------------------------------------------

TEST(List, ReadingPastTheEndThrowsOutOfRangeNamingTheIndexAndSize) {
  const test::ScopedList name("oor");
  auto list = List<int>::create(name);
  list.extend(std::vector<int>{1, 2, 3});
  for (const std::uint64_t i : {std::uint64_t{3}, std::uint64_t{4}, ~std::uint64_t{0}}) {
    try {
      (void)list[i];
      ADD_FAILURE() << "no exception for index " << i;
    } catch (const std::out_of_range& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(name.str()), std::string::npos) << what;
      EXPECT_NE(what.find("index " + std::to_string(i)), std::string::npos) << what;
      EXPECT_NE(what.find("size 3"), std::string::npos) << what;
    }
    EXPECT_THROW((void)list.at(i), std::out_of_range);
    EXPECT_THROW(list.set(i, 0), std::out_of_range);
  }
  const test::ScopedList strings_name("oor-str");
  auto strings = List<std::string>::create(strings_name);
  EXPECT_THROW((void)strings[0], std::out_of_range);
  EXPECT_THROW(strings.set(0, "x"), std::out_of_range);
}

// A handle remembers the size it last saw, so that a reader walking the list
// does not load the shared size per item: the end stays where the list's
// size is, for this handle and for another, and moves with each append.
TEST(List, ReadsAfterReadsStillEndAtTheSizeAndFollowAppends) {
  const test::ScopedList name("seen-size");
  auto list = List<std::int64_t>::create(name);
  auto other = List<std::int64_t>::open(name);
  list.extend(std::vector<std::int64_t>{10, 11, 12});
  for (List<std::int64_t>* reader : {&list, &other}) {
    EXPECT_EQ((*reader)[2], 12);
    try {
      (void)(*reader)[3];
      ADD_FAILURE() << "no exception for index 3";
    } catch (const std::out_of_range& e) {
      EXPECT_NE(std::string(e.what()).find("size 3"), std::string::npos) << e.what();
    }
  }
  other.append(13);
  for (List<std::int64_t>* reader : {&list, &other}) {
    EXPECT_EQ((*reader)[3], 13);
    EXPECT_EQ((*reader)[0], 10);
    EXPECT_THROW((void)(*reader)[4], std::out_of_range);
  }
}

TEST(List, OpeningWithAnotherElementTypeIsTypeMismatch) {
  const test::ScopedList ints("ints");
  const test::ScopedList strings("strings");
  auto list = List<int>::create(ints);
  auto slist = List<std::string>::create(strings);
  const auto expect_mismatch = [](const std::function<void()>& open) {
    const test::Thrown t = test::thrown_by(open);
    EXPECT_EQ(t.code, code_of(Errc::type_mismatch)) << t.message;
    EXPECT_FALSE(t.message.empty());
  };
  expect_mismatch([&] { (void)List<std::int64_t>::open(ints); });
  expect_mismatch([&] { (void)List<unsigned>::open(ints); });
  expect_mismatch([&] { (void)List<float>::open(ints); });
  expect_mismatch([&] { (void)List<Point>::open(ints); });
  expect_mismatch([&] { (void)List<std::string>::open(ints); });
  expect_mismatch([&] { (void)List<char>::open(strings); });
  expect_mismatch([&] { (void)List<int>::open(strings); });
  expect_mismatch([&] { (void)List<std::int64_t>::open_or_create(ints); });
  const test::Thrown t = test::thrown_by([&] { (void)List<std::int64_t>::open(ints); });
  EXPECT_NE(t.message.find(ints.str()), std::string::npos) << t.message;
  // The right type still opens.
  EXPECT_EQ(List<int>::open(ints).size(), 0u);
}

TEST(List, OpeningAnotherKindAsAListIsWrongKind) {
  const test::ScopedName name("bytes");
  const SharedMemory memory = SharedMemory::create(name, 4096);
  const test::Thrown t = test::thrown_by([&] { (void)List<int>::open(name); });
  EXPECT_EQ(t.code, code_of(Errc::wrong_kind)) << t.message;
  EXPECT_NE(t.message.find(name.str()), std::string::npos) << t.message;
  EXPECT_EQ(test::thrown_by([&] { (void)List<std::string>::open(name); }).code,
            code_of(Errc::wrong_kind));
  EXPECT_EQ(test::thrown_by([&] { (void)List<int>::open_or_create(name); }).code,
            code_of(Errc::wrong_kind));
}

TEST(List, OpeningAMissingListIsNotFound) {
  const test::ScopedList name("missing");
  const test::Thrown t = test::thrown_by([&] { (void)List<int>::open(name); });
  EXPECT_EQ(t.code, code_of(Errc::not_found)) << t.message;
  EXPECT_NE(t.message.find(name.str()), std::string::npos) << t.message;
  EXPECT_FALSE(List<int>::remove(name));
}

TEST(List, CreatingAnExistingListIsAlreadyExistsAndOpenOrCreateOpensIt) {
  const test::ScopedList name("exists");
  auto list = List<int>::open_or_create(name);
  list.append(5);
  EXPECT_EQ(test::thrown_by([&] { (void)List<int>::create(name); }).code,
            code_of(Errc::already_exists));
  EXPECT_EQ(List<int>::open_or_create(name).to_vector(), std::vector<int>{5});
}

TEST(List, InvalidOrTooLongNamesAreInvalidName) {
  EXPECT_EQ(test::thrown_by([] { (void)List<int>::create("bad/name"); }).code,
            code_of(Errc::invalid_name));
  const std::string long_name(kMaxNameLength, 'x');  // no room for the chunk suffix
  const test::Thrown t = test::thrown_by([&] { (void)List<int>::create(long_name); });
  EXPECT_EQ(t.code, code_of(Errc::invalid_name)) << t.message;
  EXPECT_EQ(test::thrown_by([&] { (void)List<int>::open_or_create(long_name); }).code,
            code_of(Errc::invalid_name));
}

TEST(List, AnItemOverTheMaximumRecordIsMessageTooLargeAndNothingIsAdded) {
  const test::ScopedList name("huge");
  auto list = List<std::string>::create(name);
  list.append("before");
  // A view of 1 GiB + 1 over memory that is never touched: the size is
  // checked before a byte is read.
  const std::size_t bytes = (std::size_t{1} << 30) + 1;
  void* const area =
      ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(area, MAP_FAILED);
  const std::string_view huge(static_cast<const char*>(area), bytes);
  const test::Thrown t = test::thrown_by([&] { list.append(huge); });
  EXPECT_EQ(t.code, code_of(Errc::message_too_large)) << t.message;
  EXPECT_EQ(test::thrown_by([&] {
              list.extend(std::vector<std::string_view>{"ok", huge});
            }).code,
            code_of(Errc::message_too_large));
  EXPECT_EQ(test::thrown_by([&] { list.set(0, huge); }).code, code_of(Errc::message_too_large));
  ::munmap(area, bytes);
  EXPECT_EQ(list.to_vector(), std::vector<std::string>{"before"});  // the batch added nothing
}

TEST(List, RemoveDeletesTheListAndEveryChunk) {
  const test::ScopedList name("rm");
  {
    auto list = List<std::string>::create(name);
    for (int i = 0; i < 3000; ++i) list.append(std::string(100, 'r'));
    EXPECT_TRUE(chunk_file_exists(name, 'd', 3));
    EXPECT_TRUE(chunk_file_exists(name, 'i', 1));
  }
  EXPECT_TRUE(List<std::string>::remove(name));
  EXPECT_TRUE(test::leftovers().empty());
  EXPECT_FALSE(List<std::string>::remove(name));
  EXPECT_EQ(test::thrown_by([&] { (void)List<std::string>::open(name); }).code,
            code_of(Errc::not_found));
}

TEST(List, RemoveRefusesAnObjectOfAnotherKindAndLeavesIt) {
  const test::ScopedName name("not-a-list");
  {
    const SharedMemory memory = SharedMemory::create(name, 64);
    memory.data()[0] = std::byte{9};
  }
  const test::Thrown t = test::thrown_by([&] { (void)List<int>::remove(name); });
  EXPECT_EQ(t.code, code_of(Errc::wrong_kind)) << t.message;
  EXPECT_EQ(SharedMemory::open(name).data()[0], std::byte{9});
}

TEST(List, RemoveOfAnArraySaysItIsAnArray) {
  const test::ScopedName name("an-array");
  const auto arr = Array<int>::create(name, 4);
  const test::Thrown t = test::thrown_by([&] { (void)List<int>::remove(name); });
  EXPECT_EQ(t.code, code_of(Errc::wrong_kind)) << t.message;
  EXPECT_NE(t.message.find("it is an array, not a list; not removed"), std::string::npos)
      << t.message;
}

// Objects of other kinds named like a list's chunks (NAME.d1, NAME.i2) are
// someone else's: removing the list leaves them, data and all.
TEST(List, RemoveLeavesObjectsOfOtherKindsNamedLikeItsChunks) {
  const test::ScopedList name("rm-near");
  const std::string d1 = name.str() + ".d1";
  const std::string i2 = name.str() + ".i2";
  SharedMemory::create(d1, 64).data()[0] = std::byte{7};
  SharedMemory::create(i2, 64).data()[0] = std::byte{8};
  {
    auto list = List<int>::create(name);
    for (int i = 0; i < 10; ++i) list.append(i);
  }
  EXPECT_TRUE(List<int>::remove(name));
  EXPECT_EQ(SharedMemory::open(d1).data()[0], std::byte{7});
  EXPECT_EQ(SharedMemory::open(i2).data()[0], std::byte{8});
  EXPECT_TRUE(SharedMemory::remove(d1));
  EXPECT_TRUE(SharedMemory::remove(i2));
}

// An object of another kind under the name of the chunk a list needs next
// stops the list's growth with a clear error, and is neither replaced nor
// changed; the list keeps its items and grows once the name is free.
TEST(List, AnObjectNamedLikeTheNextChunkStopsGrowthWithAClearError) {
  const test::ScopedList name("blocked");
  const std::string d1 = name.str() + ".d1";
  SharedMemory::create(d1, 64).data()[0] = std::byte{7};
  auto list = List<std::int64_t>::create(name);
  std::int64_t next = 0;
  std::optional<test::Thrown> refused;
  for (; next < 100'000; ++next) {
    const test::Thrown t = test::thrown_by([&] { list.append(next); });
    if (t.code) {
      refused = t;
      break;
    }
  }
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->code, code_of(Errc::already_exists)) << refused->message;
  EXPECT_NE(refused->message.find("'" + d1 + "'"), std::string::npos) << refused->message;
  EXPECT_NE(refused->message.find("rename or remove"), std::string::npos) << refused->message;
  EXPECT_EQ(SharedMemory::open(d1).data()[0], std::byte{7});
  ASSERT_EQ(list.size(), static_cast<std::size_t>(next));
  for (std::int64_t i = 0; i < next; ++i) ASSERT_EQ(list[static_cast<std::size_t>(i)], i);

  EXPECT_TRUE(SharedMemory::remove(d1));
  list.append(next);
  EXPECT_EQ(list.size(), static_cast<std::size_t>(next + 1));
  EXPECT_EQ(list[static_cast<std::size_t>(next)], next);
  EXPECT_EQ(List<std::int64_t>::open(name).size(), static_cast<std::size_t>(next + 1));
}

// A size past what was written (a buggy process) is reported as corrupt,
// naming the list: never an item that is not there, nor the file name of a
// chunk that was never made.
TEST(List, ASizePastTheWrittenItemsIsCorrupt) {
  const test::ScopedList name("corrupt-size");
  auto list = List<std::int64_t>::create(name);
  for (std::int64_t i = 0; i < 3; ++i) list.append(10 + i);
  auto& head = *reinterpret_cast<detail::ListHead*>(list.segment().data().data());  // NOLINT
  head.size.store(10);
  const test::Thrown near = test::thrown_by([&] { (void)list[5]; });
  EXPECT_EQ(near.code, code_of(Errc::corrupt)) << near.message;
  EXPECT_NE(near.message.find("list '" + name.str() + "'"), std::string::npos) << near.message;
  EXPECT_EQ(list[2], 12);
  head.size.store(5000);  // past index chunk 0: the next one was never made
  const test::Thrown far = test::thrown_by([&] { (void)list[4000]; });
  EXPECT_EQ(far.code, code_of(Errc::corrupt)) << far.message;
  EXPECT_NE(far.message.find("missing"), std::string::npos) << far.message;
  head.size.store(3);
  EXPECT_EQ(list.to_vector(), (std::vector<std::int64_t>{10, 11, 12}));
}

// to_vector() on a corrupted size is corrupt before it reserves anything: it
// reserved room for the size first (here 2^40 items, 8 TiB: bad_alloc).
TEST(List, ToVectorOnACorruptedSizeIsCorruptNotAHugeReservation) {
  const test::ScopedList name("corrupt-to-vector");
  auto list = List<std::int64_t>::create(name);
  for (std::int64_t i = 0; i < 3; ++i) list.append(i);
  auto& head = *reinterpret_cast<detail::ListHead*>(list.segment().data().data());  // NOLINT
  head.size.store(std::uint64_t{1} << 40);
  const test::Thrown thrown = test::thrown_by([&] { (void)list.to_vector(); });
  EXPECT_EQ(thrown.code, code_of(Errc::corrupt)) << thrown.message;
  head.size.store(3);
  EXPECT_EQ(list.to_vector(), (std::vector<std::int64_t>{0, 1, 2}));
}

// An append needs a new index chunk only for the first item of the chunk
// after the published ones. A corrupted size or chunk count that points
// further is corrupt, and no chunk file is made: it made the chunk the size
// named (index chunk 38, 2^51 bytes: an invalid_argument from the system;
// a smaller one would have reserved memory the list never used).
TEST(List, AnAppendPastTheIndexChunksIsCorruptAndMakesNoChunk) {
  const test::ScopedList name("corrupt-append");
  auto list = List<std::int64_t>::create(name);
  for (std::int64_t i = 0; i < 3; ++i) list.append(i);
  auto& head = *reinterpret_cast<detail::ListHead*>(list.segment().data().data());  // NOLINT
  struct Patch {
    const char* what;
    std::uint64_t size;
    std::uint32_t index_chunks;
  };
  // Index chunk k starts at item 1024 * (2^k - 1).
  const std::vector<Patch> patches{
      {"a size in chunk 38", std::uint64_t{1024} * ((std::uint64_t{1} << 38) - 1), 1},
      {"a size inside chunk 1, not at its start", 1500, 1},
      {"a chunk count past the chunks made", std::uint64_t{1024} * ((std::uint64_t{1} << 37) - 1),
       37},
      {"no chunk published", 0, 0},
      // Past the 40 chunks a list has at most, with the size in chunk 45:
      // the append looked chunk 45 up in this handle's table of 40 mappings
      // (a read past it, and its pre-fault mark written past another).
      {"a chunk count past the maximum", std::uint64_t{1024} * ((std::uint64_t{1} << 45) - 1), 46},
  };
  for (const Patch& patch : patches) {
    head.size.store(patch.size);
    head.index_chunks.store(patch.index_chunks);
    const test::Thrown thrown = test::thrown_by([&] { list.append(7); });
    EXPECT_EQ(thrown.code, code_of(Errc::corrupt)) << patch.what << ": " << thrown.message;
    for (const int k : {0, 1, 37, 38}) EXPECT_FALSE(chunk_file_exists(name, 'i', k)) << patch.what;
  }
  head.size.store(3);
  head.index_chunks.store(1);
  list.append(3);
  EXPECT_EQ(list.to_vector(), (std::vector<std::int64_t>{0, 1, 2, 3}));
}

// The immutable head is checked at open with no sum that can wrap, and an
// index chunk's size cannot overflow: a corrupted or hostile head is corrupt,
// never an address outside the mapping.
TEST(List, ACorruptedHeadIsCorruptAtOpenNeverAWildAccess) {
  const test::ScopedList name("corrupt-head");
  auto list = List<std::int64_t>::create(name);
  list.append(42);
  auto& head = *reinterpret_cast<detail::ListHead*>(list.segment().data().data());  // NOLINT
  const detail::ListGeometry saved = detail::ListGeometry::read(head);
  const std::uint64_t area = list.segment().data().size();
  struct Patch {
    const char* what;
    std::function<void()> apply;
  };
  const std::vector<Patch> patches{
      // index0_offset + entries * 8 wraps to 0 (was accepted: item 0 read a
      // page before the mapping).
      {"index0 offset wrapping", [&] { head.index0_offset = ~std::uint64_t{0} - 8191; }},
      {"index0 offset past the area", [&] { head.index0_offset = area + 64; }},
      // (2^22 << 39) * 8 wraps to 0: a later index chunk's size check passed.
      {"index chunk 0 too large", [&] { head.index_chunk0_entries = std::uint64_t{1} << 22; }},
      {"data0 offset misaligned", [&] { head.data0_offset += 8; }},
  };
  for (const Patch& patch : patches) {
    patch.apply();
    const test::Thrown opened = test::thrown_by([&] {
      auto again = List<std::int64_t>::open(name);
      (void)again[0];
    });
    EXPECT_EQ(opened.code, code_of(Errc::corrupt)) << patch.what << ": " << opened.message;
    head.index_chunk0_entries = saved.index0_entries;
    head.index0_offset = saved.index0_offset;
    head.data0_offset = saved.data0_offset;
  }
  EXPECT_EQ(List<std::int64_t>::open(name)[0], 42);
}

// A fixed-size item is used in place: an entry at an offset off its type's
// alignment is corrupt (it was returned, a misaligned T).
TEST(List, AnItemEntryOffItsTypesAlignmentIsCorrupt) {
  const test::ScopedList name("misaligned");
  auto list = List<Wide>::create(name);
  list.append(Wide{{1, 2, 3, 4, 5}});
  list.append(Wide{{6, 7, 8, 9, 10}});
  auto& head = *reinterpret_cast<detail::ListHead*>(list.segment().data().data());  // NOLINT
  auto* entries = reinterpret_cast<std::uint64_t*>(  // NOLINT: the index chunk 0 entries
      list.segment().data().data() + head.index0_offset);
  entries[1] = 8;  // data chunk 0, offset 8: inside the chunk, off a 32-byte boundary
  const test::Thrown read = test::thrown_by([&] { (void)list[1]; });
  EXPECT_EQ(read.code, code_of(Errc::corrupt)) << read.message;
  EXPECT_NE(read.message.find("aligned"), std::string::npos) << read.message;
  EXPECT_EQ(list[0], (Wide{{1, 2, 3, 4, 5}}));
}

// Chunks are found by name. A handle open on a list that was removed, its name
// then reused by a new list, takes none of the new list's chunks: it grew
// into them (removing the new list's published chunks) or read them as its own.
TEST(List, AHandleOnARemovedListTakesNoChunkOfANewListOfTheSameName) {
  const test::ScopedList name("removed-reused");
  constexpr std::int64_t kItems = 3000;  // past index chunk 0's 1024 entries
  auto old_writer = List<std::int64_t>::create(name);
  for (std::int64_t i = 0; i < kItems; ++i) old_writer.append(-i);
  auto old_reader = List<std::int64_t>::open(name);
  EXPECT_EQ(old_reader[0], 0);  // maps chunk 0 only
  ASSERT_TRUE(List<std::int64_t>::remove(name));
  auto fresh = List<std::int64_t>::create(name);
  for (std::int64_t i = 0; i < kItems; ++i) fresh.append(1'000'000 + i);
  // The old reader: what it had mapped still reads; the rest is gone.
  EXPECT_EQ(old_reader[5], -5);
  const test::Thrown read = test::thrown_by([&] { (void)old_reader[2000]; });
  EXPECT_EQ(read.code, code_of(Errc::not_found)) << read.message;
  EXPECT_NE(read.message.find("was removed"), std::string::npos) << read.message;
  // The old writer, to grow, would make its next chunk: it may not.
  const test::Thrown grow = test::thrown_by([&] {
    for (int i = 0; i < 100'000; ++i) old_writer.append(7);
  });
  EXPECT_EQ(grow.code, code_of(Errc::not_found)) << grow.message;
  // The new list is whole, for its own handle and a new one.
  auto reopened = List<std::int64_t>::open(name);
  ASSERT_EQ(reopened.size(), static_cast<std::size_t>(kItems));
  for (std::int64_t i = 0; i < kItems; ++i) {
    ASSERT_EQ(reopened[static_cast<std::size_t>(i)], 1'000'000 + i) << i;
  }
  fresh.append(5);
  EXPECT_EQ(List<std::int64_t>::open(name)[static_cast<std::size_t>(kItems)], 5);
}

TEST(List, RemoveOfANameTooLongForAListIsFalse) {
  EXPECT_FALSE(List<int>::remove(std::string(kMaxNameLength, 'y')));
  EXPECT_EQ(test::thrown_by([] { (void)List<int>::remove("bad name"); }).code,
            code_of(Errc::invalid_name));
}

// --- open_waiting ------------------------------------------------------------

TEST(List, OpenWaitingReturnsOnceAnotherProcessCreatesTheList) {
  const test::ScopedList name("waiting");
  const test::Pipe created;
  const pid_t child = test::fork_child([&] {
    auto list = List<std::string>::open_waiting(name, test::kGenerous);
    test::check_in_child(list.wait_for_size(1, test::kGenerous), "no item");
    test::check_in_child(list[0] == "hello", "wrong item");
  });
  // Let the child get to its wait (asleep in the kernel) before creating, so
  // that the wait itself is what is tested; if it is not asleep within the
  // bound, the test still checks that open_waiting returns.
  (void)test::eventually([&] { return test::proc_state(child) == 'S'; }, 2000);
  auto list = List<std::string>::create(name);
  list.append("hello");
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

TEST(List, OpenWaitingTimesOutWithNotFoundWhenNoListComes) {
  const test::ScopedList name("never");
  const test::Thrown t =
      test::thrown_by([&] { (void)List<int>::open_waiting(name, std::chrono::milliseconds(30)); });
  EXPECT_EQ(t.code, code_of(Errc::not_found)) << t.message;
  EXPECT_EQ(test::thrown_by([&] { (void)List<int>::open_waiting(name, 0ms); }).code,
            code_of(Errc::not_found));
}

TEST(List, OpenWaitingOpensAnExistingListAtOnce) {
  const test::ScopedList name("there");
  auto list = List<int>::create(name);
  list.append(3);
  EXPECT_EQ(List<int>::open_waiting(name, 0ms).to_vector(), std::vector<int>{3});
}

// --- stability of references ---------------------------------------------------

TEST(List, ReferencesStayValidAndUnchangedWhileChunksGrowAndAfterSet) {
  const test::ScopedList ints_name("refs");
  const test::ScopedList strings_name("views");
  auto ints = List<int>::create(ints_name);
  auto strings = List<std::string>::create(strings_name);
  ints.append(42);
  strings.append("first item");
  strings.append(std::string(5000, 'z'));
  const int& first = ints[0];
  const std::string_view view0 = strings[0];
  const std::string_view view1 = strings[1];
  const char* const view1_data = view1.data();

  // Many more items from another handle (and its own chunk mappings).
  auto other_ints = List<int>::open(ints_name);
  auto other_strings = List<std::string>::open(strings_name);
  const int n = test::list_scaled(100'000);
  for (int i = 0; i < n; ++i) {
    other_ints.append(i);
    if (i % 10 == 0) other_strings.append(test::tagged_string(1, static_cast<std::uint32_t>(i)));
  }
  EXPECT_TRUE(chunk_file_exists(ints_name, 'd', 3));  // 1024 + 2048 + 4096 items before it
  EXPECT_TRUE(chunk_file_exists(strings_name, 'd', 3));
  // And reassignment of the very items referenced.
  other_ints.set(0, -1);
  other_strings.set(0, "replaced");
  other_strings.set(1, "");

  EXPECT_EQ(first, 42);  // set() wrote a new record: the old one is untouched
  EXPECT_EQ(view0, "first item");
  EXPECT_EQ(view1.data(), view1_data);
  EXPECT_EQ(view1, std::string(5000, 'z'));
  // New reads see the new values.
  EXPECT_EQ(ints[0], -1);
  EXPECT_EQ(strings[0], "replaced");
  EXPECT_EQ(strings[1], "");
  EXPECT_EQ(ints.size(), static_cast<std::uint64_t>(n) + 1);
  EXPECT_EQ(ints[static_cast<std::uint64_t>(n)], n - 1);
}

// --- waiting and closing -------------------------------------------------------

TEST(List, WaitForSizeReturnsAtOnceWhenTheItemsAreThere) {
  const test::ScopedList name("ready");
  auto list = List<int>::create(name);
  EXPECT_TRUE(list.wait_for_size(0, 0ms));
  list.append(1);
  EXPECT_TRUE(list.wait_for_size(1, 0ms));
  EXPECT_TRUE(list.wait_for_size(1));
  EXPECT_FALSE(list.wait_for_size(2, 0ms));
}

TEST(List, WaitForSizeTimesOutWhenNothingComes) {
  const test::ScopedList name("timeout");
  auto list = List<int>::create(name);
  list.append(1);
  EXPECT_FALSE(list.wait_for_size(2, 20ms));
  EXPECT_FALSE(list.wait_for_size(5, std::chrono::microseconds(300)));
  EXPECT_EQ(list.size(), 1u);
}

TEST(List, CloseWakesAWaiterWhichReturnsFalseWithFewerItems) {
  const test::ScopedList name("close");
  auto list = List<int>::create(name);
  list.append(1);
  std::atomic<int> result{-1};
  std::atomic<pid_t> tid{0};
  std::thread waiter([&] {
    const auto reader = List<int>::open(name);
    tid = platform::current_tid();
    result = reader.wait_for_size(3) ? 1 : 0;  // no timeout: only close() ends it
  });
  EXPECT_TRUE(test::eventually([&] { return tid != 0 && test::proc_state(tid) == 'S'; }));
  list.append(2);
  list.close();
  waiter.join();
  EXPECT_EQ(result.load(), 0);
  EXPECT_TRUE(list.closed());
  EXPECT_EQ(list.to_vector(), (std::vector<int>{1, 2}));
}

TEST(List, AfterCloseAppendThrowsClosedAndReadsAndWaitsStillWork) {
  const test::ScopedList name("closed");
  auto list = List<std::string>::create(name);
  list.extend(std::vector<std::string>{"a", "b"});
  list.close();
  list.close();  // idempotent
  const auto other = List<std::string>::open(name);
  EXPECT_TRUE(other.closed());
  const test::Thrown t = test::thrown_by([&] { list.append("c"); });
  EXPECT_EQ(t.code, code_of(Errc::closed)) << t.message;
  EXPECT_NE(t.message.find(name.str()), std::string::npos) << t.message;
  EXPECT_EQ(test::thrown_by([&] { list.extend(std::vector<std::string>{"d"}); }).code,
            code_of(Errc::closed));
  EXPECT_EQ(other.to_vector(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(other.wait_for_size(2, 0ms));
  EXPECT_TRUE(other.wait_for_size(2));
  EXPECT_FALSE(other.wait_for_size(3));  // closed: false at once, no timeout needed
  EXPECT_FALSE(other.wait_for_size(3, 1h));
}

// --- a full file system --------------------------------------------------------

TEST(List, AFullFileSystemIsOutOfSpaceFromAppendAndEveryEarlierItemStays) {
  test::TmpfsMount tmpfs(1536 << 10);
  if (!tmpfs.ok()) GTEST_SKIP() << tmpfs.reason();
  const test::ScopedList name("full", tmpfs.path());
  // Items of 10000 bytes take records of 10004; data chunks are 16 KiB << k,
  // never a multiple of 10004 (2^n mod 10004 = 4 * (2^(n-2) mod 2501) >= 4),
  // so at least 4 bytes, an empty string's record, are left in the last one.
  constexpr std::size_t kItem = 10'000;
  // In a child: a SIGBUS there would be its exit status, not the end of the run.
  const pid_t child = test::fork_child([&] {
    auto list = List<std::string>::create(name, name.options());
    std::uint32_t n = 0;
    for (;; ++n) {
      std::string item = test::tagged_string(7, n, 0);
      item.resize(kItem, '.');
      try {
        list.append(item);
      } catch (const Error& e) {
        test::check_in_child(e.code() == code_of(Errc::out_of_space),
                             std::string("expected out_of_space, got: ") + e.what());
        test::check_in_child(std::string(e.what()).find(name.str()) != std::string::npos,
                             std::string("message does not name the list: ") + e.what());
        break;
      }
      test::check_in_child(n < 10'000, "the 1.5 MiB file system never filled up");
    }
    test::check_in_child(n > 50, "out_of_space long before the file system was full");
    test::check_in_child(list.size() == n, "a failed append changed the size");
    // A larger item fails the same way again, and nothing half-made is left.
    test::check_in_child(test::thrown_by([&] { list.append(std::string(300'000, 'b')); }).code ==
                             code_of(Errc::out_of_space),
                         "second append: not out_of_space");
    list.append("");  // fits in the current chunk
    test::check_in_child(list.size() == n + 1, "the small append was not added");
  });
  ASSERT_EQ(test::wait_exit_code(child), 0);

  const auto list = List<std::string>::open(name, name.options());
  ASSERT_GT(list.size(), 50u);
  const std::uint64_t n = list.size() - 1;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string item = test::tagged_string(7, i, 0);
    item.resize(kItem, '.');
    ASSERT_TRUE(list[i] == item) << i;
  }
  EXPECT_EQ(list[n], "");
  // No chunk file is left by the failed growths: only the list and its chunks
  // d1..dK, each one published.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmpfs.path())) {
    (void)entry;
    ++files;
  }
  std::size_t chunks = 0;
  while (chunk_file_exists(name, 'd', static_cast<int>(chunks) + 1, tmpfs.path())) ++chunks;
  EXPECT_EQ(files, 1 + chunks);
}

// --- threads -------------------------------------------------------------------

// 4 threads append (writer, seq) items and 2 follow the list with
// wait_for_size; `shared` says whether every thread uses one handle or its own.
void threads_append_and_read(bool shared) {
  constexpr int kWriters = 4;
  constexpr int kReaders = 2;
  const auto per_writer = static_cast<std::uint32_t>(test::list_scaled(20'000));
  const std::uint64_t total = std::uint64_t{kWriters} * per_writer;
  const test::ScopedList name(shared ? "thr-one" : "thr-many");
  auto list = List<test::Tagged>::create(name);
  std::atomic<int> errors{0};
  test::run_threads(kWriters + kReaders, [&](int t) {
    std::optional<List<test::Tagged>> own;
    if (!shared) own.emplace(List<test::Tagged>::open(name));
    List<test::Tagged>& l = shared ? list : *own;
    if (t < kWriters) {
      List<test::Tagged>& writer = l;
      for (std::uint32_t s = 0; s < per_writer; ++s) {
        if (s % 7 == 3) {
          const std::array<test::Tagged, 3> batch{test::Tagged::make(std::uint32_t(t), s),
                                                  test::Tagged::make(std::uint32_t(t), s + 1),
                                                  test::Tagged::make(std::uint32_t(t), s + 2)};
          const std::uint32_t take = std::min<std::uint32_t>(3, per_writer - s);
          writer.extend(std::span(batch.data(), take));
          s += take - 1;
        } else {
          writer.append(test::Tagged::make(std::uint32_t(t), s));
        }
      }
      return;
    }
    // A reader: each item it sees is complete, and each writer's in order.
    std::array<std::uint32_t, kWriters> next{};
    for (std::uint64_t i = 0; i < total; ++i) {
      if (!l.wait_for_size(i + 1, test::kGenerous)) {
        errors.fetch_add(1);
        return;
      }
      const test::Tagged& item = l[i];
      if (!item.intact() || item.writer >= kWriters || item.seq != next[item.writer]++) {
        errors.fetch_add(1);
        return;
      }
    }
  });
  EXPECT_EQ(errors.load(), 0);
  ASSERT_EQ(list.size(), total);
  std::array<std::uint32_t, kWriters> next{};
  for (const test::Tagged& item : list) {
    ASSERT_TRUE(item.intact());
    ASSERT_LT(item.writer, std::uint32_t{kWriters});
    ASSERT_EQ(item.seq, next[item.writer]++);
  }
  for (const std::uint32_t n : next) EXPECT_EQ(n, per_writer);
  // Each item's record and index entry, counted by every writer: none lost.
  EXPECT_EQ(list.bytes_in_use(), total * (sizeof(test::Tagged) + 8));
}

TEST(ListThreads, FourWritersAndTwoReadersSharingOneHandle) { threads_append_and_read(true); }

TEST(ListThreads, FourWritersAndTwoReadersEachWithItsOwnHandle) { threads_append_and_read(false); }

TEST(ListThreads, StringWritersAndReadersSeeEveryItemWhole) {
  constexpr int kWriters = 3;
  const auto per_writer = static_cast<std::uint32_t>(test::list_scaled(5'000));
  const test::ScopedList name("thr-str");
  auto list = List<std::string>::create(name);
  std::atomic<int> errors{0};
  test::run_threads(kWriters + 1, [&](int t) {
    auto own = List<std::string>::open(name);
    if (t < kWriters) {
      for (std::uint32_t s = 0; s < per_writer; ++s) {
        own.append(test::tagged_string(std::uint32_t(t), s));
        if (s % 1000 == 999) own.set(s / 2, test::tagged_string(std::uint32_t(t) + 10, s));
      }
      return;
    }
    for (std::uint64_t i = 0; i < std::uint64_t{kWriters} * per_writer; ++i) {
      if (!own.wait_for_size(i + 1, test::kGenerous)) {
        errors.fetch_add(1);
        return;
      }
      std::uint32_t w = 0;
      std::uint32_t s = 0;
      if (!test::parse_tagged_string(own[i], w, s)) errors.fetch_add(1);
    }
  });
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(list.size(), std::uint64_t{kWriters} * per_writer);
}

TEST(ListThreads, CloseWakesEveryWaitingThread) {
  const test::ScopedList name("thr-close");
  auto list = List<int>::create(name);
  std::atomic<int> returned_false{0};
  std::array<std::atomic<pid_t>, 4> tids{};
  std::vector<std::thread> waiters;
  for (std::size_t t = 0; t < tids.size(); ++t) {
    waiters.emplace_back([&, t] {
      tids[t] = platform::current_tid();
      // No timeout: only close() can end this wait.
      if (!list.wait_for_size(100)) returned_false.fetch_add(1);
    });
  }
  // Close while they sleep in the kernel, so that the wake-up is what is tested.
  EXPECT_TRUE(test::eventually([&] {
    return std::all_of(tids.begin(), tids.end(),
                       [](const auto& tid) { return tid != 0 && test::proc_state(tid) == 'S'; });
  }));
  list.append(1);
  list.close();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(returned_false.load(), 4);
}

}  // namespace
}  // namespace shmkit
