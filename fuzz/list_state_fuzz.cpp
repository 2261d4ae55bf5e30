// libFuzzer target for corrupted list state: the head (its chunk-0 geometry,
// size, data_used, chunk counts), index entries, and string records' lengths,
// in the list's own segment and in its first index and data chunks, as a
// buggy or hostile process could leave them.
//
// Two lists are created once, in a private directory, each with items enough
// to have index chunk 1 and data chunk 1: one of strings (variable-length
// records) and one of std::uint64_t (fixed-size, aligned records). A pristine
// copy of each file's data area is kept. Each input:
//   byte 0          even: the string list; odd: the uint64 list
//   byte 1          n, the number of patches (n % 9)
//   n x 12 bytes    a patch: file (1 byte: the list, i1 or d1), offset (2
//                   bytes, modulo that file's data area), width (1 byte: 1,
//                   2, 4 or 8 bytes), value (8 bytes)
//   the rest        operations, one byte each (see run below)
// The files are restored and patched (chunk files that earlier inputs made
// are removed), then a fresh handle is opened on the list and the operations
// run. Every call must end, touch nothing outside the mappings (ASan), and
// fail, if at all, with shmkit::Error `corrupt`, `out_of_space` (a chunk that
// cannot be made: the file size limit below), or `closed` after close(); or
// with std::out_of_range for an index at or past size().
//
// Not patched: the append lock's words. A lock word naming a live process is
// a lock held by it, corrupted or not, and an appender rightly waits for it
// (a dead one's is recovered: sync/mutex_state.hpp, fuzzed by its tests).

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "shmkit/detail/list_core.hpp"
#include "shmkit/detail/list_layout.hpp"
#include "shmkit/error.hpp"
#include "shmkit/list.hpp"
#include "shmkit/segment.hpp"
#include "state_fuzz_support.hpp"

namespace {

using shmkit::Errc;
using shmkit::List;
using shmkit::Segment;
using shmkit::SegmentOptions;
using shmkit::fuzz::Input;
using shmkit::fuzz::Patch;
using shmkit::fuzz::require;

// Items in the pristine lists: past index chunk 0 (1024 entries) and data
// chunk 0 (16 KiB of strings, 8 KiB of uint64), so chunk 1 of each exists.
constexpr std::uint64_t kPristineItems = 1100;
// The largest file a call may make (RLIMIT_FSIZE): a corrupted head must not
// make the fuzzer reserve gigabytes. Beyond it, Segment::create fails with
// EFBIG, which the list reports as out_of_space or an errno.
constexpr rlim_t kMaxFileBytes = rlim_t{64} << 20;

// A file of a list as created: its path and bytes, and where its data area
// begins. Restored and patched through the file, not a mapping: an append
// under a corrupted head may replace a chunk file (make_chunk() takes one
// that looks unpublished for a killed appender's), and a mapping would then
// restore the old, unlinked one.
struct File {
  std::filesystem::path path;
  std::vector<char> bytes;
  std::size_t data_offset = 0;
  [[nodiscard]] std::size_t data_size() const noexcept { return bytes.size() - data_offset; }
};

struct Target {
  std::string name;
  std::array<File, 3> files;  // the list, NAME.i1, NAME.d1
};

struct World {
  std::string directory;
  Target strings;
  Target numbers;
};

World* g_world = nullptr;

SegmentOptions options_in(const std::string& directory) {
  return SegmentOptions{.directory = directory};
}

void remove_world() {
  if (g_world == nullptr) return;
  List<std::string>::remove("fuzz-strings", options_in(g_world->directory));
  List<std::uint64_t>::remove("fuzz-numbers", options_in(g_world->directory));
  std::error_code ignored;
  std::filesystem::remove_all(g_world->directory, ignored);
}

File snapshot(const std::string& name, const std::string& directory) {
  const Segment segment = Segment::open(
      name, SegmentOptions{.kind = shmkit::Kind::list, .any_kind = true, .directory = directory});
  File f{segment.path(), {}, 0};
  std::ifstream in(f.path, std::ios::binary);
  f.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  f.data_offset = f.bytes.size() - segment.data().size();
  return f;
}

// Fails the run unless `e` is one of the errors corrupted state may cause.
void check_error(const shmkit::Error& e) {
  if (e.code() == Errc::corrupt || e.code() == Errc::out_of_space || e.code() == Errc::closed ||
      e.code() == std::errc::file_too_large) {
    return;
  }
  std::fprintf(stderr, "list_state_fuzz: %s\n", e.what());
  require(false, "only corrupt, out_of_space or closed may come of corrupted list state");
}

// The append lock's bytes in the list's own data area (see the file comment).
bool in_append_lock(std::size_t offset, std::size_t width) {
  constexpr std::size_t kBegin = offsetof(shmkit::detail::ListHead, append_lock);
  constexpr std::size_t kEnd = kBegin + sizeof(shmkit::detail::ListHead::append_lock);
  return offset < kEnd && offset + width > kBegin;
}

// Chunk files past the pristine ones, made by an earlier input's appends:
// gone, so that no input finds a chunk its restored head never published.
void remove_extra_chunks(const Target& t) {
  const std::string prefix = "shmkit." + t.name + ".";
  for (const auto& entry : std::filesystem::directory_iterator(g_world->directory)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) != 0) continue;
    const std::string chunk = file.substr(prefix.size());
    if (chunk != "i1" && chunk != "d1") std::filesystem::remove(entry.path());
  }
}

void write_at(const std::filesystem::path& path, std::size_t offset, const void* bytes,
              std::size_t size) {
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  if (!out) out.open(path, std::ios::binary | std::ios::out);  // replaced, then removed
  out.seekp(static_cast<std::streamoff>(offset));
  out.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  require(static_cast<bool>(out), "restoring a list file");
}

void restore_and_patch(Target& t, Input& in) {
  remove_extra_chunks(t);
  for (const File& f : t.files) {
    std::filesystem::resize_file(f.path, f.bytes.size());
    write_at(f.path, 0, f.bytes.data(), f.bytes.size());
  }
  const int patches = in.byte() % 9;
  for (int i = 0; i < patches; ++i) {
    const File& f = t.files[in.byte() % t.files.size()];
    const Patch patch = Patch::read(in, f.data_size());
    if (&f == &t.files[0] && in_append_lock(patch.offset, patch.width)) continue;
    // Little-endian: the value's low bytes.
    write_at(f.path, f.data_offset + patch.offset, &patch.value, patch.width);
  }
}

// Reads every byte of an item, so that ASan sees a read outside the mapping.
void touch(std::string_view item) {
  volatile char sink = 0;
  for (const char c : item) sink = c;
  (void)sink;
}
void touch(const std::uint64_t& item) {
  volatile std::uint64_t sink = item;
  (void)sink;
}

template <class T>
T item_of(std::uint8_t b) {
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(b % 48, static_cast<char>('a' + b % 26));
  } else {
    return std::uint64_t{b} * 0x0101010101010101u;
  }
}

// Index to read or set: mostly near the ends, where chunks begin and end.
template <class T>
std::uint64_t index_of(const List<T>& list, Input& in) {
  const std::uint64_t n = list.size();
  const std::uint64_t pick = in.word(2);
  return (pick & 1) != 0 ? n - 1 - (pick >> 1) % 4 : (pick >> 1) % (n + 2);
}

template <class T>
void run(const std::string& name, Input& in) {
  List<T> list = List<T>::open(name, options_in(g_world->directory));
  for (int ops = 0; ops < 32 && !in.empty(); ++ops) {
    const std::uint8_t op = in.byte();
    try {
      switch (op % 10) {
        case 0: list.append(item_of<T>(in.byte())); break;
        case 1: {
          const std::array<T, 3> items{item_of<T>(in.byte()), item_of<T>(in.byte()),
                                       item_of<T>(in.byte())};
          list.extend(items);
          break;
        }
        case 2: list.set(index_of(list, in), item_of<T>(in.byte())); break;
        case 3: touch(list.at(index_of(list, in))); break;
        case 4: {
          // Up to 8 items from a chosen one, as an iterating reader would.
          const std::uint64_t first = index_of(list, in);
          for (std::uint64_t i = first; i < first + 8 && i < list.size(); ++i) touch(list[i]);
          break;
        }
        case 5:
          (void)list.wait_for_size(list.size() + (op >> 7), std::chrono::milliseconds(0));
          break;
        case 6:
          (void)list.bytes_in_use();
          (void)list.closed();
          (void)list.empty();
          break;
        case 7: {
          // A second handle: its own mappings, chunks mapped on demand. Or
          // the tools' read-only view (shmkit stat), which takes the item
          // type from the head.
          if ((op & 0x80) != 0) {
            const auto view =
                shmkit::detail::ListCore::inspect(name, options_in(g_world->directory));
            (void)view.chunks();
            if (view.size() != 0) (void)view.item(view.size() - 1);
          } else {
            const List<T> other = List<T>::open(name, options_in(g_world->directory));
            if (!other.empty()) touch(other[other.size() - 1]);
          }
          break;
        }
        case 8: {
          const std::vector<T> all = list.to_vector();
          for (const T& item : all) touch(item);
          break;
        }
        default: list.close(); break;
      }
    } catch (const shmkit::Error& e) {
      check_error(e);
    } catch (const std::out_of_range&) {
      // An index at or past size(): the caller's, not the state's.
    }
  }
}

template <class T>
Target make_target(const std::string& name, const std::string& directory) {
  auto list = List<T>::create(name, options_in(directory));
  for (std::uint64_t i = 0; i < kPristineItems; ++i) {
    list.append(item_of<T>(static_cast<std::uint8_t>(i * 7)));
  }
  return Target{name,
                {snapshot(name, directory), snapshot(name + ".i1", directory),
                 snapshot(name + ".d1", directory)}};
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const std::string tmp = shmkit::fuzz::private_directory();
  // A file past the limit fails with EFBIG instead of killing us (SIGXFSZ).
  std::signal(SIGXFSZ, SIG_IGN);
  const rlimit limit{kMaxFileBytes, kMaxFileBytes};
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
    std::perror("list_state_fuzz: setrlimit");
    std::abort();
  }
  g_world = new World{tmp, {}, {}};
  std::atexit(&remove_world);
  g_world->strings = make_target<std::string>("fuzz-strings", tmp);
  g_world->numbers = make_target<std::uint64_t>("fuzz-numbers", tmp);
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const bool strings = (in.byte() & 1) == 0;
  Target& t = strings ? g_world->strings : g_world->numbers;
  restore_and_patch(t, in);
  try {
    if (strings) {
      run<std::string>(t.name, in);
    } else {
      run<std::uint64_t>(t.name, in);
    }
  } catch (const shmkit::Error& e) {
    check_error(e);  // opening it: a corrupted head
  }
  return 0;
}
