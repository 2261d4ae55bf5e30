#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/context.hpp"
#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "workloads/bulk.hpp"
#include "workloads/message64.hpp"
#include "workloads/throughput_shared.hpp"

// Peers that carry messages through an object of their own: a POSIX message
// queue, a Boost.Interprocess message_queue, a ZeroMQ socket. Each peer
// supplies an endpoint, opened in a child after the fork:
//
//   struct End {
//     // Blocks while the channel is full.
//     void send(std::span<const std::byte> message);
//     // Blocks while it is empty; the message stays valid until the next recv.
//     std::span<const std::byte> recv();
//   };
//
// and these functions run the workloads of the fd peers (fd_peers.hpp) on it,
// in two pinned processes, verifying every message. Role 1 opens its end
// first (it may bind a socket), then role 0 (which may connect to it).
//
// PeerObject removes a peer's own kernel object (a message queue name, a file)
// when the repetition ends, even on a failure, and on SIGINT/SIGTERM/SIGHUP
// of the main process, like ScopedName does for shmkit's objects.

namespace shmkit::bench {

// Queue depth of the 64 KiB runs, every system alike: 512 KiB in flight fits
// the default RLIMIT_MSGQUEUE (800 KiB) and fs.mqueue.msg_max (10).
inline constexpr std::uint32_t kPeerBandwidthDepth = 8;

// "shmkit-bench-PID-N-tag": unique in this run, and unlike any shmkit
// object's file name ("shmkit.NAME").
std::string peer_unique_name(std::string_view tag);

class PeerObject {
 public:
  enum class Kind {
    file,           // `name` is a path: unlink(2)
    message_queue,  // `name` is a POSIX message queue name ("/x"): mq_unlink(3)
  };
  // Main process only. Installs the signal handlers on first use, chained
  // before the harness's (install_cleanup_handlers).
  PeerObject(Kind kind, std::string name);
  PeerObject(const PeerObject&) = delete;
  PeerObject& operator=(const PeerObject&) = delete;
  // Removes the object if it exists (whoever created it) and forgets it.
  ~PeerObject();
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  Kind kind_;
  std::string name_;
  int slot_ = -1;
};

// shmkit::ByteQueue, `size`-byte messages (one of kBulkSizes),
// kPeerBandwidthDepth slots, try_push / try_pop spinning on full / empty:
// records bulk_metric(size) under `system`.
void shmkit_bandwidth_rep(Context& ctx, const std::string& system, std::size_t size);

// --- The peer cases -------------------------------------------------------------

// peer.posix_mq, peer.boost_mq and peer.zeromq: shmkit and a peer run
// interleaved, each repetition doing three workloads: ping-pong of 64-byte
// messages (shmkit: Pipe, blocking send/recv), a 64 B stream (shmkit:
// ByteQueue) and, with `bandwidth`, a 64 KiB stream (shmkit: ByteQueue,
// kPeerBandwidthDepth slots). Ratios shmkit / peer: one-way p50, 64 B msgs/s
// (held to the goal, if any) and 64 KiB msgs. With `stream_rows`, three
// more systems stream 64 B messages: "shmkit pipe" (one direction of a
// Pipe, try_send / try_recv), "shmkit batch 32" (ByteQueue,
// try_push_batch / try_pop_batch of kQueueBatch) and "shmkit pipe batch
// 32" (the Pipe, try_send_batch / try_recv_batch), their msgs/s over the
// peer's held to the goal too.
struct PeerComparison {
  std::string peer;  // its system name ("POSIX mq")
  // One repetition of the peer's workloads, recorded under its system name.
  std::function<void(Context& ctx, const std::string& system)> rep;
  bool bandwidth = true;
  bool stream_rows = false;
  std::optional<double> msgs_goal_at_least = std::nullopt;
  std::string goal_source = {};
};
void compare_with_peer(Context& ctx, const PeerComparison& c);

namespace peer_detail {

struct PeerShared {
  alignas(kCacheLine) StartLine opened;  // role 1 has opened its end
  alignas(kCacheLine) StartLine start;
  alignas(kCacheLine) std::uint64_t samples;  // written by role 0 (ping-pong)
  ThroughputShared stream;                    // streams: role 1 measures
  // 0 -> 1 when role 1 has closed its end, returned or not (FinishedGuard).
  alignas(kCacheLine) std::atomic<std::uint32_t> finished;
};

// Sets `finished` and wakes role 0 when role 1 leaves, by return or throw.
class FinishedGuard {
 public:
  explicit FinishedGuard(std::atomic<std::uint32_t>& word) noexcept : word_(word) {}
  FinishedGuard(const FinishedGuard&) = delete;
  FinishedGuard& operator=(const FinishedGuard&) = delete;
  ~FinishedGuard();

 private:
  std::atomic<std::uint32_t>& word_;
};

// Sleeps (futex) until FinishedGuard has set `word`. Unbounded: if role 1
// dies instead, Team::join kills role 0.
void wait_finished(std::atomic<std::uint32_t>& word) noexcept;

// Runs role 1 then role 0's `open` in that order, then both `body(end)` from a
// common start. Role 0, which sends the stop message, keeps its end open until
// role 1 has closed its own: ZeroMQ may drop messages still queued in a socket
// that closes, whatever its linger (libzmq issues 1264, 1922, 4660), and the
// stop message must not be one of them.
template <class Open, class Body0, class Body1>
void run_pair(Context& ctx, PeerShared& s, Open& open, Body0 body0, Body1 body1) {
  const bool shared_core = ctx.shared_core();
  Team team(ctx);
  team.spawn(0, [&] {
    s.opened.arrive_and_wait(2, shared_core);
    auto end = open(0);
    s.start.arrive_and_wait(2, shared_core);
    body0(end);
    wait_finished(s.finished);
  });
  team.spawn(1, [&] {
    const FinishedGuard guard(s.finished);  // declared first: set after `end` closes
    auto end = open(1);
    s.opened.arrive_and_wait(2, shared_core);
    s.start.arrive_and_wait(2, shared_core);
    body1(end);
  });
  team.join();
}

}  // namespace peer_detail

// Ping-pong of one 64-byte message: records metrics::kOneWay* (round trip / 2).
template <class Open>
void peer_pingpong_rep(Context& ctx, const std::string& system, Open open) {
  SharedBlock<peer_detail::PeerShared> block(kRoundTripSampleBytes);
  peer_detail::PeerShared& s = *block;
  auto pinger = [&](auto& end) {
    SampleBuffer samples(block.extra(), block.extra_size());
    samples.prefault();
    LatencySampler sampler(samples, ctx.duration(), 1);
    for (std::uint64_t i = 1;; ++i) {
      end.send(Message64::make(i).bytes());
      Message64::from(end.recv(), "pinger").verify(i, "pinger");
      if (!sampler.lap()) break;
    }
    s.samples = samples.size();
    end.send(Message64::make(Message64::kStop).bytes());
  };
  auto ponger = [&](auto& end) {
    for (std::uint64_t expected = 1;; ++expected) {
      const std::span<const std::byte> bytes = end.recv();
      const Message64 m = Message64::from(bytes, "ponger");
      if (m.is_stop()) break;
      m.verify(expected, "ponger");
      end.send(bytes);
    }
  };
  peer_detail::run_pair(ctx, s, open, pinger, ponger);
  record_round_trips(ctx, system, block.extra(), s.samples);
}

// Role 0 sends 64-byte messages as fast as it can, role 1 verifies each:
// records metrics::kMsgs64.
template <class Open>
void peer_throughput_rep(Context& ctx, const std::string& system, Open open) {
  SharedBlock<peer_detail::PeerShared> block;
  peer_detail::PeerShared& s = *block;
  auto sender = [&](auto& end) {
    ThroughputTimer timer(s.stream, ctx.duration());
    send_stream([&](const Message64& m) { end.send(m.bytes()); }, timer);
  };
  auto receiver = [&](auto& end) {
    ThroughputClock clock(s.stream);
    clock.finish(
        receive_stream([&] { return Message64::from(end.recv(), "receiver"); }, clock, "receiver"));
  };
  peer_detail::run_pair(ctx, s, open, sender, receiver);
  record_throughput(ctx, system, metrics::kMsgs64, s.stream);
}

// Role 0 sends `size`-byte messages (bulk_stamp) as fast as it can, role 1
// checks each: records bulk_metric(size), bytes received per second (GB/s).
template <class Open>
void peer_bandwidth_rep(Context& ctx, const std::string& system, std::size_t size, Open open) {
  SharedBlock<peer_detail::PeerShared> block;
  peer_detail::PeerShared& s = *block;
  auto sender = [&](auto& end) {
    std::vector<std::byte> message(size, std::byte{0x5a});
    // A clock read per message costs nothing beside the copying of 64 KiB.
    ThroughputTimer timer(s.stream, ctx.duration(), 1, kMinBulkMessages);
    std::uint64_t i = 1;
    do {
      bulk_stamp(message, i);
      end.send(message);
    } while (!timer.done(i++));
    bulk_stop(message);
    end.send(std::span(message).first(kBulkStopSize));
  };
  auto receiver = [&](auto& end) {
    // Warm: every slot of the channel gone round twice.
    ThroughputClock clock(s.stream, 1, 2 * std::uint64_t{kPeerBandwidthDepth});
    for (std::uint64_t expected = 1;; ++expected) {
      const std::span<const std::byte> m = end.recv();
      if (is_bulk_stop(m)) {
        clock.finish(expected);
        return;
      }
      bulk_check_stamps(m, size, expected, "receiver");
      clock.on_message(expected);
    }
  };
  peer_detail::run_pair(ctx, s, open, sender, receiver);
  record_bandwidth(ctx, system, size, s.stream);
}

}  // namespace shmkit::bench
