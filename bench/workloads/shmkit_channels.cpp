#include "workloads/shmkit_channels.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness/clock.hpp"
#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "shmkit/list.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/queue.hpp"
#include "workloads/message64.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

constexpr auto kWarmUp = std::chrono::milliseconds(10);
// Sample storage for the pinger: 1 Mi round trips (4 MiB).
constexpr std::size_t kSampleBytes = std::size_t{4} << 20;
constexpr std::uint64_t kStop = Message64::kStop;

const char* status_name(QueueStatus s) noexcept {
  switch (s) {
    case QueueStatus::ok: return "ok";
    case QueueStatus::empty: return "empty";
    case QueueStatus::full: return "full";
    case QueueStatus::timed_out: return "timed_out";
    case QueueStatus::closed: return "closed";
  }
  return "?";
}

[[noreturn]] void unexpected(const char* who, const char* what, QueueStatus s) {
  throw CaseFailure(std::string(who) + ": " + what + " returned " + status_name(s));
}

// --- Pipe ping-pong ---------------------------------------------------------

struct PipeShared {
  alignas(kCacheLine) StartLine start;
  alignas(kCacheLine) std::uint64_t samples;  // written by role 0 at the end
};

// Sends `m` on `p`: spinning on try_send, or one blocking send.
void pipe_send(Pipe& p, const Message64& m, PipeWaiting waiting, SpinWait& spin, const char* who) {
  if (waiting == PipeWaiting::sleep) {
    const QueueStatus s = p.send(m.bytes());
    if (s != QueueStatus::ok) unexpected(who, "send", s);
    return;
  }
  for (;;) {
    const QueueStatus s = p.try_send(m.bytes());
    if (s == QueueStatus::ok) return;
    if (s != QueueStatus::full) unexpected(who, "try_send", s);
    spin();
  }
}

Message64 pipe_recv(Pipe& p, std::vector<std::byte>& buffer, PipeWaiting waiting, SpinWait& spin,
                    const char* who) {
  if (waiting == PipeWaiting::sleep) {
    const QueueStatus s = p.recv(buffer);
    if (s != QueueStatus::ok) unexpected(who, "recv", s);
    return Message64::from(buffer, who);
  }
  for (;;) {
    const QueueStatus s = p.try_recv(buffer);
    if (s == QueueStatus::ok) return Message64::from(buffer, who);
    if (s != QueueStatus::empty) unexpected(who, "try_recv", s);
    spin();
  }
}

// --- Queue throughput ---------------------------------------------------------

constexpr std::size_t kMaxBatch = 64;

void queue_producer(ByteQueue& q, std::size_t batch, bool shared_core,
                    std::chrono::nanoseconds run_for) {
  SpinWait spin(shared_core);
  TimeBox box(run_for, 16);
  std::uint64_t i = 1;
  if (batch == 1) {
    do {
      const Message64 m = Message64::make(i);
      for (;;) {
        const QueueStatus s = q.try_push(m.bytes());
        if (s == QueueStatus::ok) break;
        if (s != QueueStatus::full) unexpected("producer", "try_push", s);
        spin();
      }
      ++i;
    } while (!box.expired());
  } else {
    std::array<Message64, kMaxBatch> messages{};
    std::array<std::span<const std::byte>, kMaxBatch> spans{};
    for (std::size_t k = 0; k < batch; ++k) spans[k] = messages[k].bytes();
    do {
      for (std::size_t k = 0; k < batch; ++k) messages[k] = Message64::make(i + k);
      std::size_t done = 0;
      while (done < batch) {
        const std::size_t n = q.try_push_batch(std::span(spans).subspan(done, batch - done));
        if (n == 0) {
          if (q.closed()) throw CaseFailure("producer: the queue was closed");
          spin();
        }
        done += n;
      }
      i += batch;
    } while (!box.expired());
  }
  const Message64 stop = Message64::make(kStop);
  for (;;) {
    const QueueStatus s = q.try_push(stop.bytes());
    if (s == QueueStatus::ok) break;
    if (s != QueueStatus::full) unexpected("producer", "try_push (stop)", s);
    spin();
  }
}

void queue_consumer(ByteQueue& q, std::size_t batch, ThroughputShared& shared, bool shared_core) {
  SpinWait spin(shared_core);
  ThroughputClock clock(kWarmUp);
  std::uint64_t expected = 1;
  if (batch == 1) {
    std::string buffer;
    for (;;) {
      const QueueStatus s = q.try_pop(buffer);
      if (s == QueueStatus::empty) {
        spin();
        continue;
      }
      if (s != QueueStatus::ok) unexpected("consumer", "try_pop", s);
      const Message64 m = Message64::from(std::as_bytes(std::span(buffer)), "consumer");
      if (m.seq == kStop && m.valid(kStop)) break;
      m.verify(expected, "consumer");
      clock.on_message(expected);
      ++expected;
    }
  } else {
    // The visitor runs inside the queue: it must not throw; it records the
    // first bad message and the check throws after try_pop_batch returns.
    bool stopped = false;
    bool bad = false;
    Message64 first_bad{};
    std::uint64_t bad_expected = 0;
    auto visit = [&](std::span<const std::byte> bytes) {
      if (stopped || bad) return;
      Message64 m{};
      if (bytes.size() == sizeof m) std::memcpy(&m, bytes.data(), sizeof m);
      if (bytes.size() == sizeof m && m.seq == kStop && m.valid(kStop)) {
        stopped = true;
      } else if (bytes.size() != sizeof m || !m.valid(expected)) {
        bad = true;
        first_bad = m;
        bad_expected = expected;
      } else {
        clock.on_message(expected);
        ++expected;
      }
    };
    while (!stopped) {
      const std::size_t n = q.try_pop_batch(batch, visit);
      if (bad) first_bad.verify(bad_expected, "consumer");  // throws
      if (n == 0) {
        if (q.closed()) throw CaseFailure("consumer: the queue was closed");
        spin();
      }
    }
  }
  clock.finish(shared, expected);
}

}  // namespace

void pipe_pingpong_rep(Context& ctx, const std::string& system, PipeWaiting waiting) {
  SharedBlock<PipeShared> block(kSampleBytes);
  PipeShared& s = *block;
  ScopedName name("pipe");
  // Made here and let go at once: each child opens its own end (open() takes
  // whichever end is free), so each end is held by the process that uses it.
  (void)Pipe::create(name.str(), {.capacity = 64, .max_message = sizeof(Message64)});
  const bool shared_core = ctx.shared_core();
  const auto duration = ctx.duration();
  Team team(ctx);
  team.spawn(0, [&] {
    Pipe p = Pipe::open(name.str());
    SampleBuffer samples(block.extra(), block.extra_size());
    samples.prefault();
    std::vector<std::byte> buffer;
    buffer.reserve(p.max_message());
    SpinWait spin(shared_core);
    s.start.arrive_and_wait(2, shared_core);
    std::uint64_t prev = ticks();
    bool measuring = false;
    TimeBox box(kWarmUp, 64);
    for (std::uint64_t i = 1;; ++i) {
      pipe_send(p, Message64::make(i), waiting, spin, "pinger");
      pipe_recv(p, buffer, waiting, spin, "pinger").verify(i, "pinger");
      const std::uint64_t t = ticks();
      if (measuring && !samples.push(t - prev)) break;
      prev = t;
      if (box.expired(samples.size())) {
        if (measuring) break;
        measuring = true;
        box = TimeBox(duration, 64, kMinLatencySamples);
      }
    }
    s.samples = samples.size();
    pipe_send(p, Message64::make(kStop), waiting, spin, "pinger");
  });
  team.spawn(1, [&] {
    Pipe p = Pipe::open(name.str());
    std::vector<std::byte> buffer;
    buffer.reserve(p.max_message());
    SpinWait spin(shared_core);
    s.start.arrive_and_wait(2, shared_core);
    for (std::uint64_t expected = 1;; ++expected) {
      const Message64 m = pipe_recv(p, buffer, waiting, spin, "ponger");
      if (m.seq == kStop && m.valid(kStop)) break;
      m.verify(expected, "ponger");
      pipe_send(p, m, waiting, spin, "ponger");
    }
  });
  team.join();
  auto* data = reinterpret_cast<std::uint32_t*>(block.extra());  // NOLINT: sample array
  record_latency(ctx, system, latency_figures(data, s.samples, 0.5 / ticks_per_ns()));
}

void queue_throughput_rep(Context& ctx, const std::string& system, std::size_t batch) {
  if (batch == 0 || batch > kMaxBatch) throw CaseFailure("queue_throughput_rep: bad batch size");
  SharedBlock<ThroughputShared> block;
  ThroughputShared& s = *block;
  ScopedName name("queue");
  (void)ByteQueue::create(name.str(), {.capacity = 1024, .max_message = sizeof(Message64)});
  const bool shared_core = ctx.shared_core();
  const auto run_for = std::chrono::nanoseconds(kWarmUp + ctx.duration());
  Team team(ctx);
  team.spawn(0, [&] {
    ByteQueue q = ByteQueue::open(name.str());
    s.start.arrive_and_wait(2, shared_core);
    queue_producer(q, batch, shared_core, run_for);
  });
  team.spawn(1, [&] {
    ByteQueue q = ByteQueue::open(name.str());
    s.start.arrive_and_wait(2, shared_core);
    queue_consumer(q, batch, s, shared_core);
  });
  team.join();
  record_throughput(ctx, system, metrics::kMsgs64, s);
}

namespace {

// The value of item i of the list: varies in every byte, so a torn or
// misplaced item shows.
std::int64_t list_value(std::uint64_t i) noexcept {
  return static_cast<std::int64_t>((i + 1) * Message64::kCheckMul);
}

// At most this many items per repetition (8 bytes each, plus the index): a
// fast writer stops early rather than fill memory; the rate is taken over the
// time actually measured.
constexpr std::uint64_t kMaxListItems = std::uint64_t{8} << 20;

struct ListShared {
  alignas(kCacheLine) StartLine start;
  alignas(kCacheLine) std::atomic<std::uint64_t> appended;  // set by the writer before close()
  ThroughputShared result;
};

// Removes the list's chunks (NAME.i1, NAME.d1, ...) when the repetition ends,
// even on a failure; the ScopedName, declared before it, then removes NAME.
// (An interrupted run's signal handler removes NAME only: a list's chunks can
// be left behind then; `shmkit` can remove them by the list's name.)
class ListRemover {
 public:
  explicit ListRemover(const ScopedName& name) noexcept : name_(name) {}
  ListRemover(const ListRemover&) = delete;
  ListRemover& operator=(const ListRemover&) = delete;
  ~ListRemover() {
    try {
      List<std::int64_t>::remove(name_.str());
    } catch (...) {  // NOLINT(bugprone-empty-catch): best effort, in a destructor
    }
  }

 private:
  const ScopedName& name_;
};

}  // namespace

void list_append_read_rep(Context& ctx, const std::string& system) {
  SharedBlock<ListShared> block;
  ListShared& s = *block;
  ScopedName name("list");
  const ListRemover remover(name);
  (void)List<std::int64_t>::create(name.str());
  const bool shared_core = ctx.shared_core();
  const auto run_for = std::chrono::nanoseconds(kWarmUp + ctx.duration());
  Team team(ctx);
  team.spawn(0, [&] {
    auto list = List<std::int64_t>::open(name.str());
    s.start.arrive_and_wait(2, shared_core);
    TimeBox box(run_for, 16);
    std::uint64_t i = 0;
    do {
      list.append(list_value(i));
      ++i;
    } while (i < kMaxListItems && !box.expired());
    s.appended.store(i, std::memory_order_release);
    list.close();
  });
  team.spawn(1, [&] {
    const auto list = List<std::int64_t>::open(name.str());
    s.start.arrive_and_wait(2, shared_core);
    ThroughputClock clock(kWarmUp);
    std::uint64_t next = 0;  // the next item to verify
    auto verify_up_to = [&](std::uint64_t size) {
      for (; next < size; ++next) {
        const std::int64_t v = list[next];
        if (v != list_value(next)) {
          throw CaseFailure("reader: item " + std::to_string(next) + " is " + std::to_string(v) +
                            ", expected " + std::to_string(list_value(next)));
        }
        clock.on_message(next + 1);
      }
    };
    for (;;) {
      const std::uint64_t size = list.size();
      if (size > next) {
        verify_up_to(size);
      } else if (!list.wait_for_size(next + 1)) {
        if (!list.closed()) throw CaseFailure("reader: wait_for_size failed on an open list");
        verify_up_to(list.size());
        break;
      }
    }
    const std::uint64_t appended = s.appended.load(std::memory_order_acquire);
    if (next != appended) {
      throw CaseFailure("reader: read " + std::to_string(next) + " items, the writer appended " +
                        std::to_string(appended));
    }
    clock.finish(s.result, next + 1);
  });
  team.join();
  record_throughput(ctx, system, metrics::kItemsPerSecond, s.result);
}

}  // namespace shmkit::bench
