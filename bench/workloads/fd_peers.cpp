#include "workloads/fd_peers.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "workloads/message64.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

// Each role's descriptors: it reads `in` and writes `out`.
struct Ends {
  int in = -1;
  int out = -1;
};

// A pair of channels between roles 0 and 1, made before the fork. Each child
// closes the other's ends, the main process all of them, so that a peer that
// dies is seen as end-of-file instead of a hang.
class Channel {
 public:
  explicit Channel(FdTransport transport) {
    if (transport == FdTransport::pipe) {
      int a[2];
      int b[2];
      if (::pipe(a) != 0) fail("pipe");
      if (::pipe(b) != 0) {
        ::close(a[0]);
        ::close(a[1]);
        fail("pipe");
      }
      ends_[0] = {b[0], a[1]};  // role 0 writes a, reads b
      ends_[1] = {a[0], b[1]};
    } else {
      const int type = transport == FdTransport::unix_stream ? SOCK_STREAM : SOCK_SEQPACKET;
      int sv[2];
      if (::socketpair(AF_UNIX, type, 0, sv) != 0) {
        if (errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT || errno == EOPNOTSUPP) {
          throw CaseSkipped("socketpair(AF_UNIX, SOCK_SEQPACKET) is not supported here");
        }
        fail("socketpair");
      }
      ends_[0] = {sv[0], sv[0]};
      ends_[1] = {sv[1], sv[1]};
    }
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() { close_all(); }

  // In the child of `role`: close the other role's ends; return ours.
  Ends take(int role) {
    close_role(1 - role);
    ignore_sigpipe();
    return ends_[role];
  }
  void close_all() noexcept {
    close_role(0);
    close_role(1);
  }

 private:
  [[noreturn]] static void fail(const char* what) {
    throw CaseFailure(std::string(what) + ": " + std::strerror(errno));
  }
  static void ignore_sigpipe() noexcept { ::signal(SIGPIPE, SIG_IGN); }
  void close_role(int role) noexcept {
    Ends& e = ends_[role];
    if (e.in >= 0) ::close(e.in);
    if (e.out >= 0 && e.out != e.in) ::close(e.out);
    e = Ends{};
  }
  Ends ends_[2];
};

void write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw CaseFailure(std::string("write: ") + std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Reads exactly n bytes; throws on end-of-file (the peer died) or an error.
void read_all(int fd, void* data, std::size_t n) {
  auto* p = static_cast<unsigned char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r == 0) throw CaseFailure("read: end of file: the peer is gone");
    if (r < 0) {
      if (errno == EINTR) continue;
      throw CaseFailure(std::string("read: ") + std::strerror(errno));
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
}

void write_message(int fd, const Message64& m) { write_all(fd, &m, sizeof m); }

Message64 read_message(int fd) {
  Message64 m{};
  read_all(fd, &m, sizeof m);
  return m;
}

struct FdShared {
  alignas(kCacheLine) StartLine start;
  std::uint64_t samples;    // role 0, ping-pong
  ThroughputShared stream;  // role 1 measures the throughput
};

}  // namespace

void fd_pingpong_rep(Context& ctx, const std::string& system, FdTransport transport) {
  SharedBlock<FdShared> block(kRoundTripSampleBytes);
  FdShared& s = *block;
  Channel channel(transport);
  Team team(ctx);
  team.spawn(0, [&] {
    const Ends e = channel.take(0);
    SampleBuffer samples(block.extra(), block.extra_size());
    samples.prefault();
    s.start.arrive_and_wait(2, ctx.shared_core());
    LatencySampler sampler(samples, ctx.duration(), 1);
    for (std::uint64_t i = 1;; ++i) {
      write_message(e.out, Message64::make(i));
      read_message(e.in).verify(i, "pinger");
      if (!sampler.lap()) break;
    }
    s.samples = samples.size();
    write_message(e.out, Message64::make(Message64::kStop));
  });
  team.spawn(1, [&] {
    const Ends e = channel.take(1);
    s.start.arrive_and_wait(2, ctx.shared_core());
    for (std::uint64_t expected = 1;; ++expected) {
      const Message64 m = read_message(e.in);
      if (m.is_stop()) break;
      m.verify(expected, "ponger");
      write_message(e.out, m);
    }
  });
  channel.close_all();
  team.join();
  record_round_trips(ctx, system, block.extra(), s.samples);
}

void fd_throughput_rep(Context& ctx, const std::string& system, FdTransport transport) {
  SharedBlock<FdShared> block;
  FdShared& s = *block;
  Channel channel(transport);
  const bool stream = transport != FdTransport::unix_seqpacket;
  Team team(ctx);
  team.spawn(0, [&] {
    const Ends e = channel.take(0);
    s.start.arrive_and_wait(2, ctx.shared_core());
    ThroughputTimer timer(s.stream, ctx.duration());
    send_stream([&](const Message64& m) { write_message(e.out, m); }, timer);
  });
  team.spawn(1, [&] {
    const Ends e = channel.take(1);
    std::vector<std::byte> buffer(stream ? std::size_t{64} << 10 : sizeof(Message64));
    s.start.arrive_and_wait(2, ctx.shared_core());
    ThroughputClock clock(s.stream);
    std::uint64_t expected = 1;
    std::size_t have = 0;  // bytes of a partial message at the start of buffer
    for (;;) {
      const ssize_t r = ::read(e.in, buffer.data() + have, buffer.size() - have);
      if (r == 0) throw CaseFailure("reader: end of file before the stop message");
      if (r < 0) {
        if (errno == EINTR) continue;
        throw CaseFailure(std::string("read: ") + std::strerror(errno));
      }
      const std::size_t total = have + static_cast<std::size_t>(r);
      std::size_t at = 0;
      for (; at + sizeof(Message64) <= total; at += sizeof(Message64)) {
        const Message64 m =
            Message64::from(std::span(buffer).subspan(at, sizeof(Message64)), "reader");
        if (m.is_stop()) {
          clock.finish(expected);
          return;
        }
        m.verify(expected, "reader");
        clock.on_message(expected);
        ++expected;
      }
      if (!stream && at != total) throw CaseFailure("seqpacket: a message of odd size");
      have = total - at;
      std::memmove(buffer.data(), buffer.data() + at, have);
    }
  });
  channel.close_all();
  team.join();
  record_throughput(ctx, system, metrics::kMsgs64, s.stream);
}

}  // namespace shmkit::bench
