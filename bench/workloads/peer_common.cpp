#include "workloads/peer_common.hpp"

#include <linux/futex.h>
#include <mqueue.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <mutex>

#include "shmkit/queue.hpp"
#include "workloads/queue_status.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

// --- Signal-time cleanup ------------------------------------------------------

// The live peer objects, for the signal handler (which may only unlink).
// A slot is claimed by CAS on `used`, then its kind and name written, then
// `ready` stored (release), which the handler loads (acquire) before reading.
constexpr std::size_t kSlots = 16;
constexpr std::size_t kNameMax = 256;
struct Slot {
  std::atomic<bool> used{false};
  std::atomic<bool> ready{false};
  PeerObject::Kind kind = PeerObject::Kind::file;
  char name[kNameMax]{};
};
std::array<Slot, kSlots> g_slots;
std::atomic<std::uint64_t> g_counter{0};
pid_t g_main_pid = 0;

constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
// The handlers we replaced (the harness's, install_cleanup_handlers), called
// after ours. Written once before ours is installed.
std::array<struct sigaction, kSignals.size()> g_previous{};

// unlink(2) is async-signal-safe; glibc's mq_unlink is the bare system call
// once it has checked the leading '/', so it is too in practice.
void remove_object(PeerObject::Kind kind, const char* name) noexcept {
  if (kind == PeerObject::Kind::message_queue) {
    ::mq_unlink(name);
  } else {
    ::unlink(name);
  }
}

extern "C" void on_peer_signal(int sig) {
  const int saved_errno = errno;
  if (::getpid() == g_main_pid) {
    for (const Slot& s : g_slots) {
      // acquire pairs with the release in PeerObject(): kind and name are written.
      if (s.ready.load(std::memory_order_acquire)) remove_object(s.kind, s.name);
    }
  }
  errno = saved_errno;
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    if (kSignals[i] != sig) continue;
    const auto previous = g_previous[i].sa_handler;
    if (previous != SIG_DFL && previous != SIG_IGN) {
      previous(sig);  // the harness's handler: removes its names and re-raises
      return;
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);  // delivered when this handler returns
}

void install_peer_handlers() {
  g_main_pid = ::getpid();
  for (std::size_t i = 0; i < kSignals.size(); ++i) {
    ::sigaction(kSignals[i], nullptr, &g_previous[i]);
    // An ignored signal (nohup) stays ignored; a handler installed with
    // SA_SIGINFO is not one we know how to chain: leave it alone.
    if (g_previous[i].sa_handler == SIG_IGN || (g_previous[i].sa_flags & SA_SIGINFO) != 0) {
      continue;
    }
    struct sigaction sa {};
    sa.sa_handler = &on_peer_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(kSignals[i], &sa, nullptr);
  }
}

// --- shmkit ByteQueue as a bandwidth endpoint ---------------------------------

class QueueEnd {
 public:
  QueueEnd(const std::string& name, bool shared_core)
      : queue_(ByteQueue::open(name)), spin_(shared_core) {
    buffer_.reserve(queue_.max_message());
  }
  void send(std::span<const std::byte> message) {
    expect_ok(spin_while(QueueStatus::full, spin_, [&] { return queue_.try_push(message); }),
              "shmkit sender", "try_push");
  }
  std::span<const std::byte> recv() {
    expect_ok(spin_while(QueueStatus::empty, spin_, [&] { return queue_.try_pop(buffer_); }),
              "shmkit receiver", "try_pop");
    return buffer_;
  }

 private:
  ByteQueue queue_;
  SpinWait spin_;
  std::vector<std::byte> buffer_;
};

// The shmkit side of compare_with_peer.
void shmkit_peer_rep(Context& ctx, const std::string& system, bool bandwidth) {
  pipe_pingpong_rep(ctx, system, PipeWaiting::sleep);
  queue_throughput_rep(ctx, system, 1);
  if (bandwidth) shmkit_bandwidth_rep(ctx, system, k64KiB);
}

}  // namespace

std::string peer_unique_name(std::string_view tag) {
  return "shmkit-bench-" + std::to_string(::getpid()) + "-" +
         std::to_string(g_counter.fetch_add(1, std::memory_order_relaxed)) + "-" + std::string(tag);
}

PeerObject::PeerObject(Kind kind, std::string name) : kind_(kind), name_(std::move(name)) {
  static std::once_flag installed;
  std::call_once(installed, &install_peer_handlers);
  if (name_.size() >= kNameMax) return;  // removed at the end, not on a signal
  for (std::size_t i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_slots[i].used.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      g_slots[i].kind = kind_;
      std::memcpy(g_slots[i].name, name_.c_str(), name_.size() + 1);
      g_slots[i].ready.store(true, std::memory_order_release);
      slot_ = static_cast<int>(i);
      break;
    }
  }
}

PeerObject::~PeerObject() {
  // Removed before its slot is freed, so that a signal in between still finds it.
  remove_object(kind_, name_.c_str());  // ENOENT: already removed, or never made
  if (slot_ >= 0) {
    Slot& s = g_slots[static_cast<std::size_t>(slot_)];
    s.ready.store(false, std::memory_order_release);
    s.used.store(false, std::memory_order_release);
  }
}

namespace peer_detail {

// Raw shared futexes (no FUTEX_PRIVATE_FLAG): the word is in a SharedBlock
// that both processes map.
FinishedGuard::~FinishedGuard() {
  // release pairs with the acquire in wait_finished(): everything role 1 did
  // with its end, closing it included, happened before role 0 goes on.
  word_.store(1, std::memory_order_release);
  ::syscall(SYS_futex, &word_, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void wait_finished(std::atomic<std::uint32_t>& word) noexcept {
  while (word.load(std::memory_order_acquire) == 0) {
    // Returns at once if the word is no longer 0 (no lost wake-up), on a
    // wake, or spuriously: the loop checks again.
    ::syscall(SYS_futex, &word, FUTEX_WAIT, 0, nullptr, nullptr, 0);
  }
}

}  // namespace peer_detail

void shmkit_bandwidth_rep(Context& ctx, const std::string& system, std::size_t size) {
  ScopedName name("bwqueue");
  (void)ByteQueue::create(name.str(), {.capacity = kPeerBandwidthDepth,
                                       .max_message = static_cast<std::uint32_t>(size)});
  const bool shared_core = ctx.shared_core();
  peer_bandwidth_rep(ctx, system, size,
                     [&](int /*role*/) { return QueueEnd(name.str(), shared_core); });
}

void compare_with_peer(Context& ctx, const PeerComparison& c) {
  const bool bandwidth = c.bandwidth;
  std::vector<Variant> systems{
      {"shmkit",
       [bandwidth](Context& x, const std::string& s) { shmkit_peer_rep(x, s, bandwidth); }},
      {c.peer, c.rep},
  };
  if (c.stream_rows) {
    systems.push_back(
        {kPipeSystem, [](Context& x, const std::string& s) { pipe_throughput_rep(x, s, 1); }});
    systems.push_back({kQueueBatchSystem, [](Context& x, const std::string& s) {
                         queue_throughput_rep(x, s, kQueueBatch);
                       }});
    systems.push_back({kPipeBatchSystem, [](Context& x, const std::string& s) {
                         pipe_throughput_rep(x, s, kQueueBatch);
                       }});
  }
  ctx.interleave(systems);
  ctx.ratio({.metric = metrics::kOneWayP50.name, .numerator = "shmkit", .denominator = c.peer});
  ctx.ratio({.metric = metrics::kMsgs64.name,
             .numerator = "shmkit",
             .denominator = c.peer,
             .goal_at_least = c.msgs_goal_at_least,
             .goal_source = c.goal_source});
  if (c.stream_rows) {
    for (const char* stream : {kPipeSystem, kQueueBatchSystem, kPipeBatchSystem}) {
      ctx.ratio({.metric = metrics::kMsgs64.name,
                 .numerator = stream,
                 .denominator = c.peer,
                 .goal_at_least = c.msgs_goal_at_least,
                 .goal_source = c.goal_source});
    }
  }
  if (bandwidth) {
    ctx.ratio({.metric = metrics::kMsgs64K.name, .numerator = "shmkit", .denominator = c.peer});
  }
  if (ctx.shared_core()) ctx.note("one CPU: the two processes take turns");
}

}  // namespace shmkit::bench
