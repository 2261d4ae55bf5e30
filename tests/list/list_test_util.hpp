#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "shmkit/list.hpp"
#include "test_support.hpp"

// Helpers for the List and Process tests: a list name removed with its chunks,
// items whose content can be checked (writer, sequence number, checksum),
// iteration scaling under sanitizers, and checks inside forked children.

namespace shmkit::test {

// Sanitizers run the algorithms 5-20x slower, and fork is slow under them;
// the tests keep their shape with fewer iterations there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kListSlowdown = 10;
#else
inline constexpr int kListSlowdown = 1;
#endif
constexpr int list_scaled(int n) { return std::max(1, n / kListSlowdown); }

// A bound for one blocking call that must succeed: reaching it means a bug (a
// lost wake-up, a dead lock), never slowness.
inline constexpr auto kGenerous = std::chrono::seconds(10);
inline constexpr int kGenerousMs = 10'000;

// In a forked child (no gtest there): throws, so the child exits 1 with `what`
// on stderr, unless `ok`.
inline void check_in_child(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// A unique list name whose list and chunks (NAME.i<k>, NAME.d<k>) are removed on
// destruction, in `directory` (default: /dev/shm).
class ScopedList {
 public:
  explicit ScopedList(std::string_view tag, std::string directory = {})
      : name_(unique_name(tag)), directory_(std::move(directory)) {}
  ScopedList(const ScopedList&) = delete;
  ScopedList& operator=(const ScopedList&) = delete;
  ~ScopedList() {
    try {
      List<int>::remove(name_, options());  // removal does not depend on the element type
    } catch (const std::exception& e) {
      ADD_FAILURE() << "removing list " << name_ << ": " << e.what();
    }
  }
  [[nodiscard]] const std::string& str() const noexcept { return name_; }
  operator std::string_view() const noexcept { return name_; }  // NOLINT: reads like a name
  [[nodiscard]] SegmentOptions options() const {
    SegmentOptions o;
    o.directory = directory_;
    return o;
  }

 private:
  std::string name_;
  std::string directory_;
};

// 64-bit mix (splitmix64 finaliser): checksums and pseudo-random lengths.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A fixed-size item whose fields can be checked for tearing.
struct Tagged {
  std::uint32_t writer;
  std::uint32_t seq;
  std::uint64_t check;  // mix(writer, seq)
  static Tagged make(std::uint32_t writer, std::uint32_t seq) noexcept {
    return {writer, seq, mix((std::uint64_t{writer} << 32) | seq)};
  }
  [[nodiscard]] bool intact() const noexcept {
    return check == mix((std::uint64_t{writer} << 32) | seq);
  }
  friend bool operator==(const Tagged&, const Tagged&) = default;
};

// A string item: "w<writer>s<seq>:" then filler bytes derived from (writer,
// seq), of a pseudo-random length (0 to ~max_filler bytes; every 64th one
// large). The whole string is determined by (writer, seq), so a reader checks
// an item by rebuilding it.
inline std::string tagged_string(std::uint32_t writer, std::uint32_t seq,
                                 std::size_t max_filler = 300) {
  const std::uint64_t h = mix((std::uint64_t{writer} << 32) | seq);
  std::size_t filler = static_cast<std::size_t>(h % (max_filler + 1));
  if (h % 64 == 0) filler = 20'000 + static_cast<std::size_t>(h % 5000);
  std::string s = "w" + std::to_string(writer) + "s" + std::to_string(seq) + ":";
  s.reserve(s.size() + filler);
  std::uint64_t x = h;
  for (std::size_t i = 0; i < filler; ++i) {
    if (i % 8 == 0) x = mix(x);
    s.push_back(static_cast<char>('a' + (x >> (8 * (i % 8))) % 26));
  }
  return s;
}

// Parses "w<writer>s<seq>:..." and checks the whole item against
// tagged_string(); false for anything else (a torn or garbage item).
inline bool parse_tagged_string(std::string_view s, std::uint32_t& writer, std::uint32_t& seq,
                                std::size_t max_filler = 300) {
  if (s.size() < 4 || s[0] != 'w') return false;
  const std::size_t ps = s.find('s');
  const std::size_t colon = s.find(':');
  if (ps == std::string_view::npos || colon == std::string_view::npos || ps > colon) return false;
  try {
    writer = static_cast<std::uint32_t>(std::stoul(std::string(s.substr(1, ps - 1))));
    seq = static_cast<std::uint32_t>(std::stoul(std::string(s.substr(ps + 1, colon - ps - 1))));
  } catch (const std::exception&) {
    return false;
  }
  return s == tagged_string(writer, seq, max_filler);
}

// Runs body(0..n-1) on n threads and joins them.
inline void run_threads(int n, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) threads.emplace_back(body, i);
  for (auto& t : threads) t.join();
}

// Waits for every pid; true if each exited with 0.
inline bool all_exit_zero(const std::vector<pid_t>& pids) {
  bool ok = true;
  for (const pid_t pid : pids) ok = (wait_exit_code(pid) == 0) && ok;
  return ok;
}

// Field 3 of /proc/ID/stat (R, S, D, Z...); '?' if it cannot be read.
inline char proc_state(pid_t id) {
  std::ifstream in("/proc/" + std::to_string(id) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return '?';
  return text[paren + 2];
}

// Polls `done` until it holds or `timeout_ms` passes. Only for conditions that
// have nothing to wait on (a process asleep in the kernel); the pause bounds
// the poll's cost, it is not a wait for anything to settle.
inline bool eventually(const std::function<bool()>& done, int timeout_ms = kGenerousMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// The Errc (as an error_code) of a shmkit::Error.
inline std::error_code code_of(Errc e) { return make_error_code(e); }

}  // namespace shmkit::test
