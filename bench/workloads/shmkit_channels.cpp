#include "workloads/shmkit_channels.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "shmkit/list.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/queue.hpp"
#include "workloads/message64.hpp"
#include "workloads/queue_status.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

constexpr std::uint64_t kStop = Message64::kStop;

// --- Pipe ping-pong ---------------------------------------------------------

struct PipeShared {
  alignas(kCacheLine) StartLine start;
  alignas(kCacheLine) std::uint64_t samples;  // written by role 0 at the end
};

// Sends `m` on `p`: spinning on try_send, or one blocking send.
void pipe_send(Pipe& p, const Message64& m, PipeWaiting waiting, SpinWait& spin, const char* who) {
  if (waiting == PipeWaiting::sleep) {
    expect_ok(p.send(m.bytes()), who, "send");
  } else {
    expect_ok(spin_while(QueueStatus::full, spin, [&] { return p.try_send(m.bytes()); }), who,
              "try_send");
  }
}

// Into the Message64 itself (Pipe::recv into the caller's buffer): one copy,
// as the bare rings' consumers make.
Message64 pipe_recv(Pipe& p, PipeWaiting waiting, SpinWait& spin, const char* who) {
  Message64 m;  // NOLINT(cppcoreguidelines-pro-type-member-init): the receive fills it
  std::size_t length = 0;
  if (waiting == PipeWaiting::sleep) {
    expect_ok(p.recv(m.writable_bytes(), length), who, "recv");
  } else {
    expect_ok(spin_while(QueueStatus::empty, spin,
                         [&] { return p.try_recv(m.writable_bytes(), length); }),
              who, "try_recv");
  }
  Message64::check_length(length, who);
  return m;
}

// --- Queue throughput ---------------------------------------------------------

constexpr std::size_t kMaxBatch = 64;

void push(ByteQueue& q, const Message64& m, SpinWait& spin) {
  expect_ok(spin_while(QueueStatus::full, spin, [&] { return q.try_push(m.bytes()); }), "producer",
            "try_push");
}

// The batch forms of each channel, for the batched streams below.
std::size_t send_batch(ByteQueue& q, std::span<const std::span<const std::byte>> messages) {
  return q.try_push_batch(messages);
}
std::size_t send_batch(Pipe& p, std::span<const std::span<const std::byte>> messages) {
  return p.try_send_batch(messages);
}
template <class Visit>
std::size_t receive_batch(ByteQueue& q, std::size_t max, Visit& visit) {
  return q.try_pop_batch(max, visit);
}
template <class Visit>
std::size_t receive_batch(Pipe& p, std::size_t max, Visit& visit) {
  return p.try_recv_batch(max, visit);
}

// Sends all of `messages` with the channel's batch send.
template <class Channel>
void push_batch(Channel& q, std::span<const std::span<const std::byte>> messages, SpinWait& spin) {
  std::size_t done = 0;
  while (done < messages.size()) {
    const std::size_t n = send_batch(q, messages.subspan(done));
    if (n == 0) {
      if (q.closed()) throw CaseFailure("producer: the channel was closed");
      spin();
    }
    done += n;
  }
}

// Batches of `batch` messages, then the stop message alone.
template <class Channel>
void batch_producer(Channel& q, std::size_t batch, SpinWait& spin, ThroughputTimer& timer) {
  std::array<Message64, kMaxBatch> messages{};
  std::array<std::span<const std::byte>, kMaxBatch> spans{};
  for (std::size_t k = 0; k < batch; ++k) spans[k] = messages[k].bytes();
  std::uint64_t sent = 0;
  do {
    for (std::size_t k = 0; k < batch; ++k) messages[k] = Message64::make(sent + 1 + k);
    push_batch(q, std::span(spans).first(batch), spin);
    sent += batch;
  } while (!timer.done(sent));
  messages[0] = Message64::make(kStop);
  push_batch(q, std::span(spans).first(1), spin);
}

void queue_producer(ByteQueue& q, std::size_t batch, SpinWait& spin, ThroughputTimer& timer) {
  if (batch == 1) {
    send_stream([&](const Message64& m) { push(q, m, spin); }, timer);
    return;
  }
  batch_producer(q, batch, spin, timer);
}

// The channel's batch receive: the visitor runs inside the channel and must
// not throw; it records the first bad message and the check throws after the
// batch returns.
template <class Channel>
std::uint64_t pop_batches(Channel& q, std::size_t batch, SpinWait& spin, ThroughputClock& clock,
                          ConsumerWork work) {
  std::uint64_t expected = 1;
  bool stopped = false;
  bool bad = false;
  Message64 first_bad{};
  std::uint64_t bad_expected = 0;
  auto visit = [&](std::span<const std::byte> bytes) {
    if (stopped || bad) return;
    Message64 m{};
    if (bytes.size() == sizeof m) std::memcpy(&m, bytes.data(), sizeof m);
    if (bytes.size() == sizeof m && m.is_stop()) {
      stopped = true;
    } else if (bytes.size() != sizeof m || !m.valid(expected)) {
      bad = true;
      first_bad = m;
      bad_expected = expected;
    } else {
      work(m);
      clock.on_message(expected);
      ++expected;
    }
  };
  while (!stopped) {
    std::size_t n = receive_batch(q, batch, visit);
    // A closed channel may still hold what came before the close: a Pipe's
    // sender closes its end when its process exits, right after its last
    // message. So the look that decides is the one after closed() said so.
    // (With a second closed() after an earlier look instead, a sender that
    // sent its last messages and closed in between made this fail, 1 to 3
    // runs in 40 of --reps 2 --duration-ms 20 beside two busy processes.)
    if (n == 0 && q.closed()) {
      n = receive_batch(q, batch, visit);
      if (n == 0 && !bad) throw CaseFailure("consumer: the channel was closed");
    }
    if (bad) first_bad.verify(bad_expected, "consumer");  // throws
    if (n == 0) spin();
  }
  return expected;
}

std::uint64_t queue_consumer(ByteQueue& q, std::size_t batch, SpinWait& spin,
                             ThroughputClock& clock, ConsumerWork work) {
  if (batch > 1) return pop_batches(q, batch, spin, clock, work);
  // Into the Message64 itself, as pipe_recv() receives: one copy.
  auto pop = [&] {
    Message64 m;  // NOLINT(cppcoreguidelines-pro-type-member-init): the pop fills it
    std::size_t length = 0;
    expect_ok(
        spin_while(QueueStatus::empty, spin, [&] { return q.try_pop(m.writable_bytes(), length); }),
        "consumer", "try_pop");
    Message64::check_length(length, "consumer");
    return m;
  };
  return receive_stream(pop, clock, "consumer", work);
}

}  // namespace

void pipe_pingpong_rep(Context& ctx, const std::string& system, PipeWaiting waiting) {
  SharedBlock<PipeShared> block(kRoundTripSampleBytes);
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
    SpinWait spin(shared_core);
    s.start.arrive_and_wait(2, shared_core);
    LatencySampler sampler(samples, duration, 64);
    for (std::uint64_t i = 1;; ++i) {
      pipe_send(p, Message64::make(i), waiting, spin, "pinger");
      pipe_recv(p, waiting, spin, "pinger").verify(i, "pinger");
      if (!sampler.lap()) break;
    }
    s.samples = samples.size();
    pipe_send(p, Message64::make(kStop), waiting, spin, "pinger");
  });
  team.spawn(1, [&] {
    Pipe p = Pipe::open(name.str());
    SpinWait spin(shared_core);
    s.start.arrive_and_wait(2, shared_core);
    for (std::uint64_t expected = 1;; ++expected) {
      const Message64 m = pipe_recv(p, waiting, spin, "ponger");
      if (m.is_stop()) break;
      m.verify(expected, "ponger");
      pipe_send(p, m, waiting, spin, "ponger");
    }
  });
  team.join();
  record_round_trips(ctx, system, block.extra(), s.samples);
}

void queue_throughput_rep(Context& ctx, const std::string& system, std::size_t batch,
                          ConsumerWork work, StreamWaits waits) {
  if (batch == 0 || batch > kMaxBatch) throw CaseFailure("queue_throughput_rep: bad batch size");
  SharedBlock<StreamShared> block;
  ScopedName name("queue");
  (void)ByteQueue::create(name.str(), {.capacity = 1024, .max_message = sizeof(Message64)});
  auto open = [&] { return ByteQueue::open(name.str()); };
  run_stream(
      ctx, *block, open,
      [&](ByteQueue& q, SpinWait& spin, ThroughputTimer& timer) {
        queue_producer(q, batch, spin, timer);
      },
      open,
      [&](ByteQueue& q, SpinWait& spin, ThroughputClock& clock) {
        return queue_consumer(q, batch, spin, clock, work);
      });
  record_throughput(ctx, system, metrics::kMsgs64, block->stream);
  if (waits == StreamWaits::record) record_stream_waits(ctx, system, *block);
}

void pipe_throughput_rep(Context& ctx, const std::string& system, std::size_t batch,
                         ConsumerWork work, StreamWaits waits) {
  if (batch == 0 || batch > kMaxBatch) throw CaseFailure("pipe_throughput_rep: bad batch size");
  SharedBlock<StreamShared> block;
  ScopedName name("pipe");
  // The queue's ring size (1024 slots), for a like-for-like comparison.
  (void)Pipe::create(name.str(), {.capacity = 1024, .max_message = sizeof(Message64)});
  auto open = [&] { return Pipe::open(name.str()); };
  // Two calls, not one with a branch in each side: the one-at-a-time loops
  // stay as they were compiled before the batched stream was added.
  if (batch > 1) {
    run_stream(
        ctx, *block, open,
        [batch](Pipe& p, SpinWait& spin, ThroughputTimer& timer) {
          batch_producer(p, batch, spin, timer);
        },
        open,
        [batch, work](Pipe& p, SpinWait& spin, ThroughputClock& clock) {
          return pop_batches(p, batch, spin, clock, work);
        });
  } else {
    run_stream(
        ctx, *block, open,
        [](Pipe& p, SpinWait& spin, ThroughputTimer& timer) {
          send_stream(
              [&](const Message64& m) { pipe_send(p, m, PipeWaiting::spin, spin, "sender"); },
              timer);
        },
        open,
        [work](Pipe& p, SpinWait& spin, ThroughputClock& clock) {
          return receive_stream([&] { return pipe_recv(p, PipeWaiting::spin, spin, "receiver"); },
                                clock, "receiver", work);
        });
  }
  record_throughput(ctx, system, metrics::kMsgs64, block->stream);
  if (waits == StreamWaits::record) record_stream_waits(ctx, system, *block);
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
  StreamShared run;
  alignas(kCacheLine) std::atomic<std::uint64_t> appended;  // set by the writer before close()
};

using IntList = List<std::int64_t>;

void append_items(IntList& list, ThroughputTimer& timer, ListShared& s) {
  std::uint64_t i = 0;
  do {
    list.append(list_value(i));
    ++i;
  } while (i < kMaxListItems && !timer.done(i));
  s.appended.store(i, std::memory_order_release);
  list.close();
}

// Returns the number of items read; item i is message i + 1 to `clock`.
std::uint64_t read_items(const IntList& list, ThroughputClock& clock, const ListShared& s) {
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
  return next;
}

}  // namespace

void list_append_read_rep(Context& ctx, const std::string& system) {
  SharedBlock<ListShared> block;
  ListShared& s = *block;
  // Its destructor removes the list with its chunk files (shmkit::remove_object).
  ScopedName name("list");
  (void)IntList::create(name.str());
  auto open = [&] { return IntList::open(name.str()); };
  run_stream(
      ctx, s.run, open,
      [&](IntList& list, SpinWait& /*spin*/, ThroughputTimer& timer) {
        append_items(list, timer, s);
      },
      open,
      [&](IntList& list, SpinWait& /*spin*/, ThroughputClock& clock) {
        return read_items(list, clock, s) + 1;
      });
  record_throughput(ctx, system, metrics::kItemsPerSecond, s.run.stream);
}

}  // namespace shmkit::bench
