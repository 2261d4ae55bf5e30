// peer.posix_mq: POSIX message queues (mq_open, mq_send, mq_receive), each
// side blocking in the kernel, interleaved with shmkit: Pipe with blocking
// send/recv for the ping-pong, ByteQueue for the 64 B stream and, where the
// kernel allows 64 KiB messages, the 64 KiB stream.

#include <fcntl.h>
#include <mqueue.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "harness/registry.hpp"
#include "workloads/peer_common.hpp"

namespace shmkit::bench {
namespace {

// The depth of shmkit's 64 B queue (queue_throughput_rep), asked of the kernel
// first; an unprivileged process gets at most fs.mqueue.msg_max.
constexpr long kWantedDepth = 1024;
constexpr std::size_t kMessage = sizeof(Message64);

struct MqSettings {
  long depth = 0;          // messages per 64 B queue
  bool bandwidth = false;  // 64 KiB messages allowed
};

std::optional<long> read_limit(const char* file) {
  std::ifstream in(std::string("/proc/sys/fs/mqueue/") + file);
  long value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

// Creates queue `name` (exclusive, 0600) and closes it; 0 or the errno.
int create_queue(const std::string& name, long depth, std::size_t message_size) {
  mq_attr attr{};
  attr.mq_maxmsg = depth;
  attr.mq_msgsize = static_cast<long>(message_size);
  const mqd_t q = ::mq_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
  if (q == static_cast<mqd_t>(-1)) return errno;
  ::mq_close(q);
  return 0;
}

// Creates a queue and removes it: 0 or the errno.
int try_queue(long depth, std::size_t message_size) {
  const PeerObject q(PeerObject::Kind::message_queue, "/" + peer_unique_name("probe"));
  return create_queue(q.name(), depth, message_size);
}

// What this kernel and this process are allowed; CaseSkipped if no queue at all.
MqSettings probe(Context& ctx) {
  MqSettings out;
  out.depth = kWantedDepth;
  int err = try_queue(out.depth, kMessage);
  if (err == EINVAL) {
    // Deeper than fs.mqueue.msg_max and not CAP_SYS_RESOURCE: take the limit.
    out.depth = std::min(read_limit("msg_max").value_or(10), kWantedDepth);
    err = try_queue(out.depth, kMessage);
  }
  if (err == EMFILE || err == ENOSYS || err == EACCES || err == ENOSPC || err == ENOMEM) {
    throw CaseSkipped(std::string("mq_open: ") + std::strerror(err));
  }
  if (err != 0) throw CaseFailure(std::string("mq_open (64 B): ") + std::strerror(err));
  ctx.note("POSIX mq: 64 B queues " + std::to_string(out.depth) +
           " messages deep (shmkit's: 1024; fs.mqueue.msg_max " +
           std::to_string(read_limit("msg_max").value_or(-1)) +
           ", which CAP_SYS_RESOURCE may exceed)");

  err = try_queue(kPeerBandwidthDepth, k64KiB);
  out.bandwidth = err == 0;
  if (err == EINVAL) {
    ctx.note("POSIX mq: 64 KiB messages not allowed here (fs.mqueue.msgsize_max " +
             std::to_string(read_limit("msgsize_max").value_or(-1)) + " bytes): no 64 KiB figure");
  } else if (err != 0) {
    ctx.note(std::string("POSIX mq: no 64 KiB figure: mq_open: ") + std::strerror(err));
  }
  return out;
}

// One process's ends: it receives from `in` and sends to `out` (either may be
// absent), opened by name in the child.
class MqEnd {
 public:
  MqEnd(const std::string& in, const std::string& out, std::size_t message_size)
      : in_(in.empty() ? kNone : open(in, O_RDONLY)),
        out_(out.empty() ? kNone : open(out, O_WRONLY)),
        buffer_(message_size) {}
  MqEnd(const MqEnd&) = delete;
  MqEnd& operator=(const MqEnd&) = delete;
  ~MqEnd() {
    if (in_ != kNone) ::mq_close(in_);
    if (out_ != kNone) ::mq_close(out_);
  }

  void send(std::span<const std::byte> message) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): mq_send takes char
    const auto* data = reinterpret_cast<const char*>(message.data());
    while (::mq_send(out_, data, message.size(), 0) != 0) {
      if (errno != EINTR) fail("mq_send");
    }
  }
  std::span<const std::byte> recv() {
    for (;;) {
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): mq_receive takes char
      const ssize_t n =
          ::mq_receive(in_, reinterpret_cast<char*>(buffer_.data()), buffer_.size(), nullptr);
      if (n >= 0) return std::span(buffer_).first(static_cast<std::size_t>(n));
      if (errno != EINTR) fail("mq_receive");
    }
  }

 private:
  static constexpr mqd_t kNone = static_cast<mqd_t>(-1);
  static mqd_t open(const std::string& name, int flags) {
    const mqd_t q = ::mq_open(name.c_str(), flags);
    if (q == kNone) fail("mq_open '" + name + "'");
    return q;
  }
  [[noreturn]] static void fail(const std::string& what) {
    throw CaseFailure(what + ": " + std::strerror(errno));
  }

  mqd_t in_;
  mqd_t out_;
  std::vector<std::byte> buffer_;
};

// A queue for one repetition, removed at its end.
class ScopedQueue {
 public:
  ScopedQueue(std::string_view tag, long depth, std::size_t message_size)
      : object_(PeerObject::Kind::message_queue, "/" + peer_unique_name(tag)) {
    if (const int err = create_queue(object_.name(), depth, message_size); err != 0) {
      throw CaseFailure("mq_open '" + object_.name() + "': " + std::strerror(err));
    }
  }
  [[nodiscard]] const std::string& name() const noexcept { return object_.name(); }

 private:
  PeerObject object_;
};

void mq_pingpong_rep(Context& ctx, const std::string& system, const MqSettings& m) {
  const ScopedQueue ping("mq-ping", m.depth, kMessage);  // role 0 -> role 1
  const ScopedQueue pong("mq-pong", m.depth, kMessage);  // role 1 -> role 0
  peer_pingpong_rep(ctx, system, [&](int role) {
    return role == 0 ? MqEnd(pong.name(), ping.name(), kMessage)
                     : MqEnd(ping.name(), pong.name(), kMessage);
  });
}

void mq_throughput_rep(Context& ctx, const std::string& system, const MqSettings& m) {
  const ScopedQueue q("mq-stream", m.depth, kMessage);
  peer_throughput_rep(ctx, system, [&](int role) {
    return role == 0 ? MqEnd("", q.name(), kMessage) : MqEnd(q.name(), "", kMessage);
  });
}

void mq_bandwidth_rep(Context& ctx, const std::string& system) {
  const ScopedQueue q("mq-64k", kPeerBandwidthDepth, k64KiB);
  peer_bandwidth_rep(ctx, system, k64KiB, [&](int role) {
    return role == 0 ? MqEnd("", q.name(), k64KiB) : MqEnd(q.name(), "", k64KiB);
  });
}

void run(Context& ctx) {
  const MqSettings m = probe(ctx);
  auto mq_rep = [m](Context& c, const std::string& system) {
    mq_pingpong_rep(c, system, m);
    mq_throughput_rep(c, system, m);
    if (m.bandwidth) mq_bandwidth_rep(c, system);
  };
  compare_with_peer(ctx, {.peer = "POSIX mq", .rep = mq_rep, .bandwidth = m.bandwidth});
  ctx.note("shmkit's streams spin on full/empty (try_push/try_pop); POSIX mq sleeps in the kernel");
}

const Registration kCase{{
    .name = "peer.posix_mq",
    .group = "peer",
    .description = "POSIX message queues: 64 B ping-pong, 64 B and 64 KiB streams, vs shmkit "
                   "Pipe (blocking) and ByteQueue",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
