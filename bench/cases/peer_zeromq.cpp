// peer.zeromq: ZeroMQ over ipc:// (a Unix-domain socket file), through
// cppzmq: PAIR sockets for the ping-pong, PUSH to PULL for the streams. Each
// process has its own context (never one shared across fork); ZeroMQ's I/O
// thread runs beside the process's thread, on its CPU. Interleaved with
// shmkit: Pipe with blocking send/recv for the ping-pong, ByteQueue for the
// 64 B and 64 KiB streams.

#include "harness/registry.hpp"

#if SHMKIT_BENCH_HAVE_ZMQ

#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "workloads/peer_common.hpp"
#endif

namespace shmkit::bench {
namespace {

#if SHMKIT_BENCH_HAVE_ZMQ

constexpr std::size_t kMessage = sizeof(Message64);
// High-water marks, in messages, on each side: as deep as shmkit's queues.
constexpr int kHwm64 = 1024;
constexpr int kHwm64KiB = static_cast<int>(kPeerBandwidthDepth);
// How long closing a socket may wait to hand its last messages to the kernel.
// The default, forever, would hang a process whose peer died. Linger alone
// does not keep the stop message from being dropped (libzmq issue 4660):
// peer_common's run_pair keeps the sender's socket open until the receiver is
// done with it.
constexpr int kLingerMs = 5000;

// A socket file for one repetition, in $TMPDIR (or /tmp), removed at the end
// even on a failure (ZeroMQ removes it when the binding socket closes, but
// not if that process is killed) and on a signal (PeerObject).
class ScopedSocketFile {
 public:
  explicit ScopedSocketFile(std::string_view tag) : file_(PeerObject::Kind::file, path(tag)) {}
  [[nodiscard]] std::string endpoint() const { return "ipc://" + file_.name(); }

 private:
  static std::string path(std::string_view tag) {
    const std::string name = "/" + peer_unique_name(tag) + ".ipc";
    const char* dir = std::getenv("TMPDIR");
    // A socket's path must fit sockaddr_un.sun_path.
    if (dir != nullptr && *dir != '\0' &&
        std::strlen(dir) + name.size() < sizeof(sockaddr_un{}.sun_path)) {
      return dir + name;
    }
    return "/tmp" + name;
  }
  PeerObject file_;
};

// One process's socket: role 1 binds (it opens first), role 0 connects.
class ZmqEnd {
 public:
  ZmqEnd(const std::string& endpoint, zmq::socket_type type, bool bind, int hwm,
         std::size_t message_size)
      : socket_(context_, type), buffer_(message_size) {
    socket_.set(zmq::sockopt::linger, kLingerMs);
    socket_.set(zmq::sockopt::sndhwm, hwm);
    socket_.set(zmq::sockopt::rcvhwm, hwm);
    if (bind) {
      socket_.bind(endpoint);
    } else {
      socket_.connect(endpoint);
    }
  }
  ZmqEnd(const ZmqEnd&) = delete;
  ZmqEnd& operator=(const ZmqEnd&) = delete;

  // Blocks while the high-water mark is reached.
  void send(std::span<const std::byte> message) {
    if (!socket_.send(zmq::const_buffer(message.data(), message.size()), zmq::send_flags::none)) {
      throw CaseFailure("zmq send: would block");  // only with dontwait
    }
  }
  std::span<const std::byte> recv() {
    const auto got = socket_.recv(zmq::mutable_buffer(buffer_.data(), buffer_.size()));
    if (!got) throw CaseFailure("zmq recv: would block");  // only with dontwait
    if (got->truncated()) {
      throw CaseFailure("zmq recv: a message of " + std::to_string(got->untruncated_size) +
                        " bytes, expected at most " + std::to_string(buffer_.size()));
    }
    return std::span(buffer_).first(got->size);
  }

 private:
  zmq::context_t context_;  // declared first: outlives the socket
  zmq::socket_t socket_;
  std::vector<std::byte> buffer_;
};

void zmq_pingpong_rep(Context& ctx, const std::string& system) {
  const ScopedSocketFile file("zmq-pair");
  const std::string endpoint = file.endpoint();
  peer_pingpong_rep(ctx, system, [&](int role) {
    return ZmqEnd(endpoint, zmq::socket_type::pair, role == 1, kHwm64, kMessage);
  });
}

void zmq_stream_rep(Context& ctx, const std::string& system, std::size_t size) {
  const ScopedSocketFile file("zmq-push");
  const std::string endpoint = file.endpoint();
  const int hwm = size == kMessage ? kHwm64 : kHwm64KiB;
  auto open = [&](int role) {
    return ZmqEnd(endpoint, role == 0 ? zmq::socket_type::push : zmq::socket_type::pull, role == 1,
                  hwm, size);
  };
  if (size == kMessage) {
    peer_throughput_rep(ctx, system, open);
  } else {
    peer_bandwidth_rep(ctx, system, size, open);
  }
}

void zmq_rep(Context& ctx, const std::string& system) {
  zmq_pingpong_rep(ctx, system);
  zmq_stream_rep(ctx, system, kMessage);
  zmq_stream_rep(ctx, system, k64KiB);
}

void run(Context& ctx) {
  compare_with_peer(ctx, {.peer = "ZeroMQ", .rep = &zmq_rep});
  int major = 0;
  int minor = 0;
  int patch = 0;
  zmq_version(&major, &minor, &patch);
  ctx.note("ZeroMQ " + std::to_string(major) + "." + std::to_string(minor) + "." +
           std::to_string(patch) + " over ipc://; high-water marks " + std::to_string(kHwm64) +
           " (64 B) and " + std::to_string(kHwm64KiB) + " (64 KiB) messages, as shmkit's depths");
  ctx.note(
      "shmkit's streams spin on full/empty (try_push/try_pop); ZeroMQ's sockets sleep in "
      "the kernel (poll on its mailbox)");
}

#else

constexpr CaseRun run = nullptr;

#endif

const Registration kCase{
    {.name = "peer.zeromq",
     .group = "peer",
     .description = "ZeroMQ ipc:// (PAIR, PUSH/PULL): 64 B ping-pong, 64 B and 64 KiB streams, "
                    "vs shmkit Pipe (blocking) and ByteQueue",
     .run = run},
    SHMKIT_BENCH_MISSING_ZMQ};

}  // namespace
}  // namespace shmkit::bench
