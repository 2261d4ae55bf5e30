#include "workloads/fd_peers.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <vector>

#include "harness/clock.hpp"
#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"

namespace shmkit::bench {
namespace {

constexpr auto kWarmUp = std::chrono::milliseconds(10);
constexpr std::uint64_t kStop = ~std::uint64_t{0};
constexpr std::size_t kSampleBytes = std::size_t{4} << 20;

struct Message {
  std::uint64_t seq;
  std::uint64_t check;  // seq * kCheckMul, so a torn or shifted message shows
  unsigned char payload[48];
};
static_assert(sizeof(Message) == 64);
constexpr std::uint64_t kCheckMul = 0x9e3779b97f4a7c15ULL;

Message make_message(std::uint64_t seq) noexcept {
  Message m{};
  m.seq = seq;
  m.check = seq * kCheckMul;
  std::memset(m.payload, static_cast<int>(seq & 0xff), sizeof m.payload);
  return m;
}

void verify(const Message& m, std::uint64_t expected, const char* who) {
  const bool ok = m.seq == expected && m.check == expected * kCheckMul &&
                  m.payload[0] == static_cast<unsigned char>(expected & 0xff) &&
                  m.payload[47] == static_cast<unsigned char>(expected & 0xff);
  if (!ok) {
    throw CaseFailure(std::string(who) + ": expected message " + std::to_string(expected) +
                      ", got seq " + std::to_string(m.seq) + " (check " +
                      (m.check == m.seq * kCheckMul ? "ok" : "bad") + ")");
  }
}

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

struct FdShared {
  alignas(kCacheLine) StartLine start;
  std::uint64_t samples;   // role 0, ping-pong
  std::uint64_t received;  // role 1, throughput
  std::int64_t first_ns;   // role 1: first message read
  std::int64_t last_ns;    // role 1: stop message read
};

}  // namespace

void fd_pingpong_rep(Context& ctx, const std::string& system, FdTransport transport) {
  SharedBlock<FdShared> block(kSampleBytes);
  FdShared& s = *block;
  Channel channel(transport);
  Team team(ctx);
  team.spawn(0, [&] {
    const Ends e = channel.take(0);
    SampleBuffer samples(block.extra(), block.extra_size());
    samples.prefault();
    s.start.arrive_and_wait(2, ctx.shared_core());
    TimeBox box(kWarmUp, 1);
    bool measuring = false;
    std::uint64_t prev = ticks();
    for (std::uint64_t i = 1;; ++i) {
      const Message out = make_message(i);
      write_all(e.out, &out, sizeof out);
      Message in;
      read_all(e.in, &in, sizeof in);
      const std::uint64_t t = ticks();
      verify(in, i, "pinger");
      if (measuring && !samples.push(t - prev)) break;
      prev = t;
      if (box.expired(samples.size())) {
        if (measuring) break;
        measuring = true;
        box = TimeBox(ctx.duration(), 1, kMinLatencySamples);
        prev = ticks();
      }
    }
    s.samples = samples.size();
    const Message stop = make_message(kStop);
    write_all(e.out, &stop, sizeof stop);
  });
  team.spawn(1, [&] {
    const Ends e = channel.take(1);
    s.start.arrive_and_wait(2, ctx.shared_core());
    for (std::uint64_t expected = 1;; ++expected) {
      Message m;
      read_all(e.in, &m, sizeof m);
      if (m.seq == kStop) break;
      verify(m, expected, "ponger");
      write_all(e.out, &m, sizeof m);
    }
  });
  channel.close_all();
  team.join();
  auto* data = reinterpret_cast<std::uint32_t*>(block.extra());  // NOLINT: sample array
  record_latency(ctx, system, latency_figures(data, s.samples, 0.5 / ticks_per_ns()));
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
    TimeBox box(kWarmUp + ctx.duration(), 16);
    std::uint64_t i = 1;
    do {
      const Message m = make_message(i++);
      write_all(e.out, &m, sizeof m);
    } while (!box.expired());
    const Message stop = make_message(kStop);
    write_all(e.out, &stop, sizeof stop);
  });
  team.spawn(1, [&] {
    const Ends e = channel.take(1);
    std::vector<unsigned char> buffer(stream ? std::size_t{64} << 10 : sizeof(Message));
    s.start.arrive_and_wait(2, ctx.shared_core());
    std::uint64_t expected = 1;
    std::size_t have = 0;  // bytes of a partial message at the start of buffer
    const std::int64_t warm_until = now_ns() + std::chrono::nanoseconds(kWarmUp).count();
    std::uint64_t first_seq = 0;
    for (;;) {
      const ssize_t r = ::read(e.in, buffer.data() + have, buffer.size() - have);
      if (r == 0) throw CaseFailure("reader: end of file before the stop message");
      if (r < 0) {
        if (errno == EINTR) continue;
        throw CaseFailure(std::string("read: ") + std::strerror(errno));
      }
      const std::size_t total = have + static_cast<std::size_t>(r);
      std::size_t at = 0;
      for (; at + sizeof(Message) <= total; at += sizeof(Message)) {
        Message m;
        std::memcpy(&m, buffer.data() + at, sizeof m);
        if (m.seq == kStop) {
          s.last_ns = now_ns();
          s.received = first_seq == 0 ? 0 : expected - first_seq;  // 0: still warming up
          return;
        }
        verify(m, expected, "reader");
        if (first_seq == 0 && now_ns() >= warm_until) {
          first_seq = expected;
          s.first_ns = now_ns();
        }
        ++expected;
      }
      if (!stream && at != total) throw CaseFailure("seqpacket: a message of odd size");
      have = total - at;
      std::memmove(buffer.data(), buffer.data() + at, have);
    }
  });
  channel.close_all();
  team.join();
  if (s.received == 0 || s.last_ns <= s.first_ns) {
    throw CaseFailure(system + ": no messages received after the warm-up");
  }
  ctx.record(system, metrics::kMsgs64,
             static_cast<double>(s.received) / static_cast<double>(s.last_ns - s.first_ns) * 1e9);
}

}  // namespace shmkit::bench
