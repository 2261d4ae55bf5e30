// peer.boost_mq: boost::interprocess::message_queue, a queue in POSIX shared
// memory guarded by a process-shared mutex and two condition variables: a
// waiting side blocks on a condition variable (futex sleep). Interleaved with
// shmkit: Pipe with blocking send/recv for the ping-pong, ByteQueue for the
// 64 B and 64 KiB streams, and the 64 B stream through one direction of a
// Pipe, and in batches of 32 through a ByteQueue and through a Pipe. Issue 5's goal: shmkit's Queue
// at least 15x Boost's message_queue in 64 B messages per second, 1 producer 1 consumer.

#include "harness/registry.hpp"

#if SHMKIT_BENCH_HAVE_BOOST

#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/permissions.hpp>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "workloads/peer_common.hpp"
#endif

namespace shmkit::bench {
namespace {

#if SHMKIT_BENCH_HAVE_BOOST

namespace bip = boost::interprocess;

// As deep as shmkit's 64 B queue (queue_throughput_rep).
constexpr std::size_t kDepth = 1024;
constexpr std::size_t kMessage = sizeof(Message64);

// A Boost queue for one repetition, created here (0600) for the children to
// open by name, and removed at the end of the repetition, even on a failure.
// Boost keeps it in POSIX shared memory, /dev/shm/NAME, which is what a signal
// removes (PeerObject).
class ScopedBoostQueue {
 public:
  ScopedBoostQueue(std::string_view tag, std::size_t depth, std::size_t message_size)
      : name_(peer_unique_name(tag)), file_(PeerObject::Kind::file, "/dev/shm/" + name_) {
    try {
      const bip::message_queue q(bip::create_only, name_.c_str(), depth, message_size,
                                 bip::permissions(0600));
    } catch (const bip::interprocess_exception& e) {
      throw CaseFailure("boost message_queue '" + name_ + "': " + e.what());
    }
  }
  ScopedBoostQueue(const ScopedBoostQueue&) = delete;
  ScopedBoostQueue& operator=(const ScopedBoostQueue&) = delete;
  ~ScopedBoostQueue() { bip::message_queue::remove(name_.c_str()); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  PeerObject file_;  // unlinks the file on a signal (and again at the end: ENOENT)
};

// One process's ends: it receives from `in` and sends to `out` (either may be
// absent), opened by name in the child.
class BoostEnd {
 public:
  BoostEnd(const std::string& in, const std::string& out, std::size_t message_size)
      : in_(open(in)), out_(open(out)), buffer_(message_size) {}

  void send(std::span<const std::byte> message) { out_->send(message.data(), message.size(), 0); }
  std::span<const std::byte> recv() {
    bip::message_queue::size_type size = 0;
    unsigned int priority = 0;
    in_->receive(buffer_.data(), buffer_.size(), size, priority);
    return std::span(buffer_).first(size);
  }

 private:
  static std::unique_ptr<bip::message_queue> open(const std::string& name) {
    if (name.empty()) return nullptr;
    return std::make_unique<bip::message_queue>(bip::open_only, name.c_str());
  }

  std::unique_ptr<bip::message_queue> in_;
  std::unique_ptr<bip::message_queue> out_;
  std::vector<std::byte> buffer_;
};

void boost_pingpong_rep(Context& ctx, const std::string& system) {
  const ScopedBoostQueue ping("boostmq-ping", kDepth, kMessage);  // role 0 -> role 1
  const ScopedBoostQueue pong("boostmq-pong", kDepth, kMessage);  // role 1 -> role 0
  peer_pingpong_rep(ctx, system, [&](int role) {
    return role == 0 ? BoostEnd(pong.name(), ping.name(), kMessage)
                     : BoostEnd(ping.name(), pong.name(), kMessage);
  });
}

void boost_throughput_rep(Context& ctx, const std::string& system) {
  const ScopedBoostQueue q("boostmq-stream", kDepth, kMessage);
  peer_throughput_rep(ctx, system, [&](int role) {
    return role == 0 ? BoostEnd("", q.name(), kMessage) : BoostEnd(q.name(), "", kMessage);
  });
}

void boost_bandwidth_rep(Context& ctx, const std::string& system) {
  const ScopedBoostQueue q("boostmq-64k", kPeerBandwidthDepth, k64KiB);
  peer_bandwidth_rep(ctx, system, k64KiB, [&](int role) {
    return role == 0 ? BoostEnd("", q.name(), k64KiB) : BoostEnd(q.name(), "", k64KiB);
  });
}

void boost_rep(Context& ctx, const std::string& system) {
  boost_pingpong_rep(ctx, system);
  boost_throughput_rep(ctx, system);
  boost_bandwidth_rep(ctx, system);
}

void run(Context& ctx) {
  compare_with_peer(ctx, {.peer = "Boost mq",
                          .rep = &boost_rep,
                          .stream_rows = true,
                          .msgs_goal_at_least = 15.0,
                          .goal_source = "issue 5"});
  ctx.note("Boost mq: 64 B queues 1024 messages deep, 64 KiB queues " +
           std::to_string(kPeerBandwidthDepth) + ", as shmkit's");
  ctx.note(
      "shmkit's streams spin on full/empty (try_push/try_pop); Boost's send/receive "
      "sleep on a condition variable");
}

#else

constexpr CaseRun run = nullptr;

#endif

const Registration kCase{
    {.name = "peer.boost_mq",
     .group = "peer",
     .description = "Boost.Interprocess message_queue: 64 B ping-pong, 64 B and 64 KiB streams, "
                    "vs shmkit Pipe (blocking) and ByteQueue (one by one, and batches of 32), and "
                    "a Pipe's 64 B stream (one by one, and batches of 32)",
     .run = run},
    SHMKIT_BENCH_MISSING_BOOST};

}  // namespace
}  // namespace shmkit::bench
