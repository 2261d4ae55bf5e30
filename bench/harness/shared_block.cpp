#include "harness/shared_block.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "shmkit/segment.hpp"

namespace shmkit::bench {
namespace {

// Paths of the live objects, for the signal handler (which may only unlink).
// A slot is claimed by CAS on `used`, then its path written, then `ready`.
constexpr std::size_t kSlots = 64;
constexpr std::size_t kPathMax = 512;
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<bool> ready{false};
  char path[kPathMax]{};
};
std::array<Slot, kSlots> g_slots;
std::atomic<std::uint64_t> g_counter{0};
pid_t g_main_pid = 0;

std::string directory() {
  const char* dir = std::getenv("SHMKIT_DIR");
  return (dir != nullptr && *dir != '\0') ? std::string(dir) : std::string("/dev/shm");
}

extern "C" void on_terminate_signal(int sig) {
  if (::getpid() == g_main_pid) {
    for (Slot& s : g_slots) {
      if (s.ready.load(std::memory_order_acquire)) ::unlink(s.path);
    }
  }
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
      g_slots[i].ready.store(true, std::memory_order_release);
      slot_ = static_cast<int>(i);
      break;
    }
  }
}

ScopedName::~ScopedName() {
  try {
    Segment::remove(name_);  // false if it was never created
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
