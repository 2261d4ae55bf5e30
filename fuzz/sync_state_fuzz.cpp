// libFuzzer target for corrupted synchronisation state: the words of a
// Mutex, Semaphore, Event, Condition and Barrier, and an Array's head (its
// embedded mutex and length), as a buggy or hostile process could leave
// them in the shared memory.
//
// One of each is created once, in a private directory, and a pristine copy
// of each data area is kept. Each input:
//   byte 0          which object (byte % 6)
//   byte 1          n, the number of patches (n % 9)
//   n x 11 bytes    a patch: offset (2 bytes, modulo the data area's size),
//                   width (1 byte: 1, 2, 4 or 8 bytes), value (8 bytes)
//   the rest        operations, one byte each (see the run_ functions)
// The data area is restored, patched, then a fresh handle is opened on it and
// the operations run, every wait with a zero timeout: every call must end,
// touch nothing outside the mapping (ASan), and keep the primitive's own
// contract (a lock reported ours is unlocked by us, a refused release adds
// nothing, and so on). Opening may fail with `corrupt` (a Barrier's party
// count of 0, an Array's length past its area); an Array's element calls
// throw std::out_of_range for an index past its length. Nothing else throws. A mutex whose
// corrupted owner word names a live process, this one included, is held by that process: its
// try_lock() is `busy`, its lock_for(0) `timed_out`.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "shmkit/array.hpp"
#include "shmkit/error.hpp"
#include "shmkit/segment.hpp"
#include "shmkit/sync/barrier.hpp"
#include "shmkit/sync/condition.hpp"
#include "shmkit/sync/event.hpp"
#include "shmkit/sync/mutex.hpp"
#include "shmkit/sync/semaphore.hpp"
#include "state_fuzz_support.hpp"

namespace {

using shmkit::Errc;
using shmkit::Kind;
using shmkit::LockResult;
using shmkit::Segment;
using shmkit::SegmentOptions;
using shmkit::fuzz::Input;
using shmkit::fuzz::MappedTarget;
using shmkit::fuzz::require;
using namespace std::chrono_literals;

constexpr std::uint32_t kParties = 2;
constexpr std::size_t kArrayLength = 8;

struct World {
  std::string directory;
  std::vector<MappedTarget> targets;  // in the order of the run_ functions below
};

World* g_world = nullptr;

SegmentOptions options() { return SegmentOptions{.directory = g_world->directory}; }

void remove_world() {
  if (g_world == nullptr) return;
  std::vector<std::string> names;
  for (const MappedTarget& t : g_world->targets) names.push_back(t.name);
  g_world->targets.clear();  // our mappings first
  for (const std::string& name : names) Segment::remove(name, options());
  std::error_code ignored;
  std::filesystem::remove_all(g_world->directory, ignored);
}

// A lock result that makes the lock ours.
bool ours(LockResult r) { return r == LockResult::acquired || r == LockResult::owner_died; }

void run_mutex(const std::string& name, Input& in) {
  shmkit::Mutex m = shmkit::Mutex::open(name, options());
  for (int ops = 0; ops < 32 && !in.empty(); ++ops) {
    const LockResult r = (in.byte() & 1) != 0 ? m.try_lock() : m.lock_for(0ms);
    require(ours(r) || r == LockResult::busy || r == LockResult::timed_out, "a lock result");
    if (ours(r)) m.unlock();
  }
}

void run_semaphore(const std::string& name, Input& in) {
  shmkit::Semaphore s = shmkit::Semaphore::open(name, options());
  for (int ops = 0; ops < 32 && !in.empty(); ++ops) {
    const std::uint8_t op = in.byte();
    switch (op % 4) {
      case 0: (void)s.try_acquire(); break;
      case 1: (void)s.try_acquire_for(0ms); break;
      case 2: {
        const std::uint32_t before = s.value();
        const auto n = static_cast<std::uint32_t>((op & 0x80) != 0 ? in.word(4) : op >> 2);
        if (s.release(n)) {
          require(
              std::uint64_t{before} + n <= shmkit::sync::kSemaphoreMax && s.value() == before + n,
              "a release adds its units, up to the maximum");
        } else {
          require(s.value() == before, "a refused release adds nothing");
        }
        break;
      }
      default: (void)s.value(); break;
    }
  }
}

void run_event(const std::string& name, Input& in) {
  shmkit::Event e = shmkit::Event::open(name, options());
  for (int ops = 0; ops < 32 && !in.empty(); ++ops) {
    switch (in.byte() % 4) {
      case 0: e.set(); break;
      case 1: e.clear(); break;
      case 2: (void)e.wait_for(0ms); break;
      default: (void)e.is_set(); break;
    }
  }
}

void run_condition(const std::string& name, Input& in) {
  shmkit::Condition c = shmkit::Condition::open(name, options());
  for (int ops = 0; ops < 32 && !in.empty(); ++ops) {
    switch (in.byte() % 3) {
      case 0: {
        const LockResult r = c.lock_for(0ms);
        if (!ours(r)) break;
        (void)c.wait_for(0ms);  // returns with the mutex held, whatever it says
        c.unlock();
        break;
      }
      case 1: c.notify_one(); break;
      default: c.notify_all(); break;
    }
  }
}

void run_barrier(const std::string& name, Input& in) {
  shmkit::Barrier b = shmkit::Barrier::open(name, options());
  for (int ops = 0; ops < 32 && !in.empty(); ++ops) {
    switch (in.byte() % 4) {
      case 0: (void)b.wait_for(0ms); break;
      case 1: b.reset(); break;
      case 2: b.abort(); break;
      default: (void)b.broken(); break;
    }
  }
}

void run_array(const std::string& name, Input& in) {
  auto a = shmkit::Array<std::int64_t>::open(name, options());
  require(a.size() <= kArrayLength, "an array opened past its area");
  for (int ops = 0; ops < 32 && !in.empty(); ++ops) {
    const std::uint8_t op = in.byte();
    const std::size_t i = in.byte() % (kArrayLength + 2);
    try {
      switch (op % 4) {
        case 0: (void)a.load(i); break;
        case 1: a.store(i, op); break;
        case 2: (void)a.fetch_add(i, 1); break;
        default: (void)a.at(i); break;
      }
    } catch (const std::out_of_range&) {
      require(i >= a.size(), "out_of_range for an index inside the array");
    }
  }
}

using Runner = void (*)(const std::string&, Input&);
constexpr std::array<Runner, 6> kRunners{run_mutex,     run_semaphore, run_event,
                                         run_condition, run_barrier,   run_array};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  g_world = new World{shmkit::fuzz::private_directory(), {}};
  std::atexit(&remove_world);
  const SegmentOptions o = options();
  (void)shmkit::Mutex::create("fuzz-mutex", o);
  (void)shmkit::Semaphore::create("fuzz-semaphore", 2, o);
  (void)shmkit::Event::create("fuzz-event", o);
  (void)shmkit::Condition::create("fuzz-condition", o);
  (void)shmkit::Barrier::create("fuzz-barrier", kParties, o);
  (void)shmkit::Array<std::int64_t>::create("fuzz-array", kArrayLength, o);
  for (const char* name : {"fuzz-mutex", "fuzz-semaphore", "fuzz-event", "fuzz-condition",
                           "fuzz-barrier", "fuzz-array"}) {
    g_world->targets.push_back(MappedTarget::snapshot(name, g_world->directory));
  }
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::size_t which = in.byte() % kRunners.size();
  MappedTarget& t = g_world->targets[which];
  t.restore_and_patch(in);
  try {
    kRunners[which](t.name, in);
  } catch (const shmkit::Error& e) {
    // Only opening it: a Barrier's party count or an Array's length.
    if (e.code() != Errc::corrupt) std::fprintf(stderr, "%s\n", e.what());
    require(e.code() == Errc::corrupt, "an error other than corrupt at open");
  }
  return 0;
}
