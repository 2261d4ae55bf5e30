#include "harness/shared_block.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "shmkit/detail/list_layout.hpp"
#include "shmkit/remove.hpp"
#include "shmkit/segment.hpp"

namespace shmkit::bench {
namespace {

// Paths of the live objects, for the signal handler (which may only unlink).
// A slot is claimed by CAS on `used`, then its path written, then `ready`.
// `path` is DIR/shmkit.NAME; the handler appends a List's chunk suffixes
// (".i1" ... ".d39", see detail/list_layout.hpp) in a copy of its own, so the
// slot keeps room for the longest one.
constexpr std::size_t kSlots = 64;
constexpr std::size_t kPathMax = 512;
constexpr std::size_t kChunkSuffixMax = 8;  // ".d" and up to 6 digits
static_assert(detail::kListMaxChunks <= 1000000, "a chunk number has more than 6 digits");
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<bool> ready{false};
  std::size_t length = 0;  // of path, without its '\0'
  char path[kPathMax]{};
};
std::array<Slot, kSlots> g_slots;
std::atomic<std::uint64_t> g_counter{0};
pid_t g_main_pid = 0;

std::string directory() {
  const char* dir = std::getenv("SHMKIT_DIR");
  return (dir != nullptr && *dir != '\0') ? std::string(dir) : std::string("/dev/shm");
}

// Writes ".<log><k>" at `out` and a '\0' after it; async-signal-safe (no
// allocation, no locale, no stdio).
void write_chunk_suffix(char* out, char log, std::uint32_t k) noexcept {
  char digits[12];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + k % 10);
    k /= 10;
  } while (k != 0);
  *out++ = '.';
  *out++ = log;
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

// Unlinks the slot's object and, in case it is a shmkit::List, every chunk
// file the library may have made for it: NAME.i<k> and NAME.d<k> for each k in
// 1 .. kListMaxChunks - 1. All of them, like ListCore::remove(), rather than
// stopping at the first gap: a remove interrupted by this very signal (the
// destructor below) has already unlinked the low chunks and not the high ones.
// About 80 unlink calls per live name, on the way out of an interrupted run.
void unlink_with_chunks(const Slot& s) noexcept {
  char path[kPathMax + kChunkSuffixMax + 1];
  std::memcpy(path, s.path, s.length);
  for (std::uint32_t k = 1; k < detail::kListMaxChunks; ++k) {
    for (const char log : {'i', 'd'}) {
      write_chunk_suffix(path + s.length, log, k);
      ::unlink(path);
    }
  }
  // The list itself last, as ListCore::remove() does.
  ::unlink(s.path);
}

extern "C" void on_terminate_signal(int sig) {
  const int saved_errno = errno;
  if (::getpid() == g_main_pid) {
    for (const Slot& s : g_slots) {
      // acquire pairs with the release in ScopedName(): path and length are written.
      if (s.ready.load(std::memory_order_acquire)) unlink_with_chunks(s);
    }
  }
  errno = saved_errno;
  // A child still running can create a List chunk after the pass above, in
  // the moment before it dies with us (PR_SET_PDEATHSIG, harness/team.cpp).
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void install_cleanup_handlers() {
  g_main_pid = ::getpid();
  struct sigaction sa {};
  sa.sa_handler = &on_terminate_signal;
  sigemptyset(&sa.sa_mask);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

ScopedName::ScopedName(std::string_view tag)
    : name_("bench-" + std::to_string(::getpid()) + "-" +
            std::to_string(g_counter.fetch_add(1, std::memory_order_relaxed)) + "-" +
            std::string(tag)) {
  const std::string path = directory() + "/" + Segment::file_name(name_);
  for (std::size_t i = 0; i < kSlots && path.size() < kPathMax; ++i) {
    bool expected = false;
    if (g_slots[i].used.compare_exchange_strong(expected, true)) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].length = path.size();
      // release pairs with the handler's acquire: path and length first.
      g_slots[i].ready.store(true, std::memory_order_release);
      slot_ = static_cast<int>(i);
      break;
    }
  }
}

ScopedName::~ScopedName() {
  try {
    // The library's one way to remove an object of any kind with what it
    // owns (a List's chunk files too); false if it was never created.
    remove_object(name_);
  } catch (const std::exception&) {
    // Not a shmkit object after all: not ours to delete.
  }
  if (slot_ >= 0) {
    Slot& s = g_slots[static_cast<std::size_t>(slot_)];
    s.ready.store(false, std::memory_order_release);
    s.used.store(false, std::memory_order_release);
  }
}

}  // namespace shmkit::bench
