// libFuzzer target for corrupted queue and pipe state: indices, slot
// sequence words and lengths, participant records and the immutable head, as a
// buggy or hostile process could leave them in the shared memory.
//
// One small ByteQueue and one small Pipe are created once, in a private
// directory, and a pristine copy of each data area is kept. Each input:
//   byte 0          even: the queue; odd: the pipe
//   byte 1          n, the number of patches (n % 9)
//   n x 11 bytes    a patch: offset (2 bytes, modulo the data area's size),
//                   width (1 byte: 1, 2, 4 or 8 bytes), value (8 bytes)
//   the rest        operations, one byte each (see run_queue / run_pipe)
// The data area is restored, patched, then a fresh handle is opened on it and
// the operations run. (A patched max_message that still fits the slots is
// valid: sizes are checked against the handle's max_message().) Every call
// must end (no call may wait on the corrupted
// state beyond its own deadline, which here is zero), touch nothing outside
// the mapping (ASan), and fail, if at all, only with shmkit::Error: `corrupt`,
// or `full` when the participant records are all taken. Anything else is a
// crash that libFuzzer reports.

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "shmkit/error.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/queue.hpp"
#include "shmkit/segment.hpp"
#include "state_fuzz_support.hpp"

namespace {

using shmkit::ByteQueue;
using shmkit::Errc;
using shmkit::Pipe;
using shmkit::QueueStatus;
using shmkit::Segment;
using shmkit::SegmentOptions;
using shmkit::fuzz::Input;
using shmkit::fuzz::MappedTarget;
using shmkit::fuzz::require;

constexpr std::uint32_t kCapacity = 4;
// With the 16-byte slot header, one 64-byte line per slot.
constexpr std::uint32_t kMaxMessage = 40;

struct World {
  std::string directory;
  std::optional<MappedTarget> queue;
  std::optional<MappedTarget> pipe;
};

World* g_world = nullptr;

void remove_world() {
  if (g_world == nullptr) return;
  const SegmentOptions options{.directory = g_world->directory};
  g_world->queue.reset();
  g_world->pipe.reset();
  ByteQueue::remove("fuzz-queue", options);
  Pipe::remove("fuzz-pipe", options);
  ::rmdir(g_world->directory.c_str());
}

// Fails the run unless `e` is one of the errors corrupted state may cause.
void check_error(const shmkit::Error& e) {
  require(e.code() == Errc::corrupt || e.code() == Errc::full,
          "only corrupt (or full participant records) may come of corrupted state");
}

std::vector<std::byte> message_of(std::uint8_t length_byte) {
  // Up to 8 bytes over the limit, so MessageTooLarge is exercised too.
  return std::vector<std::byte>(length_byte % (kMaxMessage + 9), std::byte{0x5a});
}

void run_queue(MappedTarget& t, Input& in) {
  const SegmentOptions options{.directory = g_world->directory};
  ByteQueue q = ByteQueue::open(t.name, options);
  std::string out;
  for (int ops = 0; ops < 64 && !in.empty(); ++ops) {
    const std::uint8_t op = in.byte();
    try {
      switch (op % 12) {
        case 0: (void)q.try_push(message_of(in.byte())); break;
        case 1:
          if (q.try_pop(out) == QueueStatus::ok) require(out.size() <= q.max_message(), "pop size");
          break;
        case 2: {
          const std::vector<std::byte> m = message_of(in.byte());
          const std::array<std::span<const std::byte>, 3> batch{m, m, m};
          require(q.try_push_batch(batch) <= batch.size(), "push batch count");
          break;
        }
        case 3: {
          std::size_t seen = 0;
          const std::size_t n = q.try_pop_batch(in.byte() % 6, [&](std::span<const std::byte> m) {
            require(m.size() <= q.max_message(), "batch message size");
            ++seen;
          });
          require(n == seen, "pop batch count");
          break;
        }
        case 4: {
          ByteQueue::Reservation r;
          if (q.try_reserve(r) == QueueStatus::ok) {
            require(r.data().size() == q.max_message(), "reservation size");
            std::memset(r.data().data(), 0x33, r.data().size());
            if ((op & 0x80) != 0) r.commit(in.byte() % (q.max_message() + 1));
          }
          break;
        }
        case 5: {
          ByteQueue::Message m;
          if (q.try_read(m) == QueueStatus::ok) {
            require(m.data().size() <= q.max_message(), "read size");
            volatile std::byte sink{};
            for (const std::byte b : m.data()) sink = b;
            (void)sink;
          }
          break;
        }
        // Zero timeouts: the deadline has passed at once, so the call looks for
        // a dead holder (recover) once and returns.
        case 6: (void)q.push_for(message_of(in.byte()), std::chrono::milliseconds(0)); break;
        case 7: (void)q.pop_for(out, std::chrono::milliseconds(0)); break;
        case 8:
          require(q.depth() <= q.capacity(), "depth within capacity");
          (void)q.producers();
          (void)q.consumers();
          break;
        case 10: {
          const std::vector<std::byte> m = message_of(in.byte());
          const std::array<std::span<const std::byte>, 3> batch{m, m, m};
          std::size_t pushed = 0;
          const QueueStatus status = q.push_batch_for(batch, pushed, std::chrono::milliseconds(0));
          require(pushed <= batch.size() && (status != QueueStatus::ok || pushed == batch.size()),
                  "waiting push batch count");
          break;
        }
        case 11: {
          std::size_t seen = 0;
          std::size_t taken = 0;
          const QueueStatus status =
              q.pop_batch_for(1 + in.byte() % 6, taken, std::chrono::milliseconds(0),
                              [&](std::span<const std::byte> m) {
                                require(m.size() <= q.max_message(), "waiting batch message size");
                                ++seen;
                              });
          require(taken == seen && (status != QueueStatus::ok || taken != 0),
                  "waiting pop batch count");
          break;
        }
        default: q.close(); break;
      }
    } catch (const shmkit::Error& e) {
      if (e.code() == Errc::message_too_large) continue;
      check_error(e);
    } catch (const std::logic_error& e) {
      // libFuzzer learns this thread's identity from the comparisons it
      // traces and can write it into a participant record, with a claim:
      // a record that names this thread and shows it holding slots. The
      // queue cannot tell that from a claim this thread made, and refuses
      // a second one as the caller's mistake. An exception, no wild access.
      require(
          std::string_view(e.what()).find("this thread already holds") != std::string_view::npos,
          "a logic_error other than a forged claim of this thread");
    }
  }
}

void run_pipe(MappedTarget& t, Input& in) {
  const SegmentOptions options{.directory = g_world->directory};
  Pipe p = Pipe::open(t.name, options);
  std::string out;
  for (int ops = 0; ops < 64 && !in.empty(); ++ops) {
    const std::uint8_t op = in.byte();
    try {
      switch (op % 10) {
        case 0: (void)p.try_send(message_of(in.byte())); break;
        case 1:
          if (p.try_recv(out) == QueueStatus::ok)
            require(out.size() <= p.max_message(), "recv size");
          break;
        case 2: {
          const std::span<std::byte> slot = p.try_reserve();
          if (!slot.empty()) {
            require(slot.size() == p.max_message(), "reserved size");
            std::memset(slot.data(), 0x44, slot.size());
            p.commit(in.byte() % (p.max_message() + 1));
          }
          break;
        }
        case 3:
          if (const auto m = p.try_peek()) {
            require(m->size() <= p.max_message(), "peek size");
            p.release();
          }
          break;
        case 4: (void)p.recv_for(out, std::chrono::milliseconds(0)); break;
        case 5:
          (void)p.poll(std::chrono::milliseconds(0));
          (void)p.peer_alive();
          break;
        case 6: {
          const std::vector<std::byte> m = message_of(in.byte());
          const std::array<std::span<const std::byte>, 3> batch{m, m, m};
          if ((op & 0x80) != 0) {
            require(p.try_send_batch(batch) <= batch.size(), "send batch count");
          } else {
            std::size_t sent = 0;
            const QueueStatus status = p.send_batch_for(batch, sent, std::chrono::milliseconds(0));
            require(sent <= batch.size() && (status != QueueStatus::ok || sent == batch.size()),
                    "waiting send batch count");
          }
          break;
        }
        case 7: {
          std::size_t seen = 0;
          const auto visit = [&](std::span<const std::byte> m) {
            require(m.size() <= p.max_message(), "batch message size");
            ++seen;
          };
          const std::size_t max = 1 + in.byte() % 6;
          if ((op & 0x80) != 0) {
            require(p.try_recv_batch(max, visit) == seen, "recv batch count");
          } else {
            std::size_t taken = 0;
            const QueueStatus status =
                p.recv_batch_for(max, taken, std::chrono::milliseconds(0), visit);
            require(taken == seen && (status != QueueStatus::ok || taken != 0),
                    "waiting recv batch count");
          }
          break;
        }
        default: p.close(); break;
      }
    } catch (const shmkit::Error& e) {
      if (e.code() == Errc::message_too_large) continue;
      check_error(e);
    }
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const std::string tmp = shmkit::fuzz::private_directory();
  g_world = new World{tmp, std::nullopt, std::nullopt};
  std::atexit(&remove_world);
  const SegmentOptions options{.directory = tmp};
  (void)ByteQueue::create("fuzz-queue", {.capacity = kCapacity, .max_message = kMaxMessage},
                          options);
  (void)Pipe::create("fuzz-pipe", {.capacity = kCapacity, .max_message = kMaxMessage}, options);
  g_world->queue = MappedTarget::snapshot("fuzz-queue", tmp);
  g_world->pipe = MappedTarget::snapshot("fuzz-pipe", tmp);
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const bool queue = (in.byte() & 1) == 0;
  MappedTarget& t = queue ? *g_world->queue : *g_world->pipe;
  t.restore_and_patch(in);
  try {
    if (queue) {
      run_queue(t, in);
    } else {
      run_pipe(t, in);
    }
  } catch (const shmkit::Error& e) {
    // Opening it: a corrupted head, or (a pipe) both ends' holder words
    // patched to live processes.
    if (!(queue == false && e.code() == Errc::already_exists)) check_error(e);
  }
  return 0;
}
