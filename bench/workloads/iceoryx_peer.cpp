#include "workloads/iceoryx_peer.hpp"

#if SHMKIT_BENCH_HAVE_ICEORYX

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/clock.hpp"
#include "harness/samples.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"
#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_hoofs/platform/platform_settings.hpp"
#include "iceoryx_posh/iceoryx_posh_types.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/publisher.hpp"
#include "iceoryx_posh/popo/subscriber.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "iceoryx_versions.hpp"
#include "workloads/bulk.hpp"
#include "workloads/message64.hpp"
#include "workloads/private_namespace.hpp"
#include "workloads/throughput_shared.hpp"

namespace shmkit::bench {
namespace {

// The two ping-pongs, busy-polling and WaitSet, each with its samples.
enum Waiting : std::size_t { kSpin, kWaitSet, kWaitings };
constexpr std::uint64_t kStop = Message64::kStop;

constexpr auto kRoudiStart = std::chrono::seconds(10);
constexpr auto kSetupTimeout = std::chrono::seconds(20);  // the host's mounts and RouDi's start
constexpr auto kConnectTimeout = std::chrono::seconds(10);

// The 64 B stream's subscriber queue: as deep as iceoryx allows.
constexpr std::uint64_t kStreamQueue = iox::MAX_SUBSCRIBER_QUEUE_CAPACITY;
// The bulk streams' queues are kBulkDepths deep, as shmkit's ByteQueues
// (bulk.hpp), so the two systems hold as much in flight.

// RouDi's shared memory: a pool of chunks for each message size (a pool's
// `size` is the payload; iceoryx adds its 40-byte chunk header). Each stream
// holds at most its queue, plus a chunk the subscriber holds, one the
// publisher has loaned and one it keeps for reuse; the counts leave room for
// that and for the ports of a repetition whose processes RouDi has not yet
// cleaned up. (RouDi's built-in pools, 155 MB, would also serve.)
constexpr const char* kRoudiConfig = R"(# shmkit-bench peer.iceoryx
[general]
version = 1

[[segment]]

[[segment.mempool]]
size = 128
count = 1024

[[segment.mempool]]
size = 65536
count = 48

[[segment.mempool]]
size = 1048576
count = 24
)";

// "/tmp/" -> "/tmp"
std::string directory(const char* prefix) {
  std::string dir(prefix);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// Where iceoryx keeps its files: shared memory (shm_open: /dev/shm), its
// Unix-domain sockets and its lock files (both /tmp/ in Debian's build). Each
// gets an empty tmpfs in the namespace.
std::vector<std::string> iceoryx_directories() {
  std::vector<std::string> dirs = {"/dev/shm"};
  for (const char* prefix :
       {iox::platform::IOX_UDS_SOCKET_PATH_PREFIX, iox::platform::IOX_LOCK_FILE_PATH_PREFIX}) {
    const std::string dir = directory(prefix);
    bool seen = false;
    for (const std::string& d : dirs) seen = seen || d == dir;
    if (!seen) dirs.push_back(dir);
  }
  return dirs;
}

// The socket RouDi listens on: it exists once RouDi has made its shared
// memory and can take registrations.
std::string roudi_socket() {
  return std::string(iox::platform::IOX_UDS_SOCKET_PATH_PREFIX) +
         iox::roudi::IPC_CHANNEL_ROUDI_NAME;
}

void write_text(const std::string& path, const char* text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const std::size_t n = std::strlen(text);
  const bool ok = fd >= 0 && ::write(fd, text, n) == static_cast<ssize_t>(n);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) throw CaseFailure("writing " + path + ": " + std::strerror(err));
}

// --- what the processes share ------------------------------------------------

struct IoxShared {
  alignas(kCacheLine) StartLine connected;  // both processes' ports are connected
  alignas(kCacheLine) StartLine waitset;    // the WaitSet ping-pong starts
  // Ping-pong round trips sampled (kSpin, kWaitSet): written by role 0.
  alignas(kCacheLine) std::uint64_t samples[kWaitings];
  StreamShared stream;  // 64 B stream: role 1 measures
  BulkRound bulk[kBulkSizes.size()];
  alignas(kCacheLine) StartLine done;  // role 1 has taken every message
};

// Each repetition's topics are new: a repetition's ports stay in RouDi until
// its next discovery pass (100 ms), or for a process that was killed until
// its monitoring sees the process gone (about 1.5 s), and a blocking
// publisher connected to a dead subscriber's queue would wait on it forever
// once that queue filled.
struct Topics {
  explicit Topics(std::uint32_t rep)
      : ping(topic(rep, "ping")),
        pong(topic(rep, "pong")),
        stream(topic(rep, "stream")),
        bulk{topic(rep, "64KiB"), topic(rep, "1MiB")} {}
  iox::capro::ServiceDescription ping;
  iox::capro::ServiceDescription pong;
  iox::capro::ServiceDescription stream;
  iox::capro::ServiceDescription bulk[kBulkSizes.size()];

 private:
  static iox::capro::IdString_t id(const std::string& s) {
    return {iox::cxx::TruncateToCapacity, s};
  }
  static iox::capro::ServiceDescription topic(std::uint32_t rep, const char* event) {
    return {id("shmkit-bench"), id("rep" + std::to_string(rep)), id(event)};
  }
};

struct RepParams {
  bool shared_core;
  std::chrono::milliseconds duration;
};

// --- iceoryx calls -----------------------------------------------------------

// Registers this process with RouDi under a name of its own. Debian's build
// logs at debug level (each segment an application maps): warnings and worse
// only.
void init_runtime() {
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn,
                                                           iox::log::LogLevelOutput::kHideLogLevel);
  const std::string name = "shmkit-bench-" + std::to_string(::getpid());
  iox::runtime::PoshRuntime::initRuntime(iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name));
}

iox::popo::PublisherOptions blocking_publisher() {
  iox::popo::PublisherOptions o;
  o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
  return o;
}

// A subscriber whose full queue blocks a WAIT_FOR_CONSUMER publisher instead
// of dropping its oldest message (iceoryx's default).
iox::popo::SubscriberOptions blocking_subscriber(std::uint64_t capacity) {
  iox::popo::SubscriberOptions o;
  o.queueCapacity = capacity;
  o.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
  return o;
}

template <class Subscriber>
bool subscribed(const Subscriber& s) {
  return s.getSubscriptionState() == iox::SubscribeState::SUBSCRIBED;
}

// RouDi connects publishers and subscribers in its discovery loop, every
// 100 ms (iox::roudi::DISCOVERY_INTERVAL), and tells nobody: look every
// millisecond, up to kConnectTimeout.
template <class Ready>
void wait_connected(const char* who, Ready ready) {
  const std::int64_t deadline =
      now_ns() + std::chrono::nanoseconds(std::chrono::seconds(kConnectTimeout)).count();
  while (!ready()) {
    if (now_ns() > deadline) {
      throw CaseFailure(std::string(who) + ": iceoryx ports not connected after " +
                        std::to_string(kConnectTimeout.count()) + " s");
    }
    ::poll(nullptr, 0, 1);
  }
}

// Loans a chunk from `pub`, constructs a copy of `m` in it and publishes it.
// A full queue blocks here if the publisher and subscriber say so.
void publish(iox::popo::Publisher<Message64>& pub, const Message64& m, const char* who) {
  auto sample = pub.loan(m);
  if (sample.has_error()) {
    throw CaseFailure(std::string(who) +
                      ": loan: " + iox::popo::asStringLiteral(sample.get_error()));
  }
  sample.value().publish();
}

void* loan(iox::popo::UntypedPublisher& pub, std::size_t size, const char* who) {
  auto chunk = pub.loan(static_cast<std::uint32_t>(size));
  if (chunk.has_error()) {
    throw CaseFailure(std::string(who) +
                      ": loan: " + iox::popo::asStringLiteral(chunk.get_error()));
  }
  return chunk.value();
}

// The next message (a Sample, or an untyped chunk to release); while there
// is none, wait(): a SpinWait (busy-polling) or a WaitSet's wait (sleeping).
template <class Subscriber, class Wait>
auto take(Subscriber& sub, Wait& wait, const char* who) {
  for (;;) {
    auto r = sub.take();
    if (!r.has_error()) return std::move(r.value());
    if (r.get_error() != iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE) {
      throw CaseFailure(std::string(who) + ": take: " + iox::popo::asStringLiteral(r.get_error()));
    }
    wait();
  }
}

// Sleeps until a subscriber has data: iceoryx's blocking receive. The WaitSet
// asks RouDi for a condition variable (a semaphore in shared memory) that the
// subscriber's queue then signals on every push; made only for the WaitSet
// ping-pong, so the busy-polling runs never pay for that signal.
template <class Subscriber>
class SleepUntilData {
 public:
  SleepUntilData(Subscriber& sub, const char* who) {
    if (waitset_.attachState(sub, iox::popo::SubscriberState::HAS_DATA).has_error()) {
      throw CaseFailure(std::string(who) + ": WaitSet::attachState failed");
    }
  }
  // WaitSet::wait returns when the subscriber has data (at once if it has).
  void operator()() { (void)waitset_.wait(); }

 private:
  iox::popo::WaitSet<1> waitset_;
};

// --- the two processes ---------------------------------------------------------

// Returns the number of round trips it sampled.
template <class Wait>
std::uint64_t pinger(iox::popo::Publisher<Message64>& ping, iox::popo::Subscriber<Message64>& pong,
                     Wait& wait, SampleBuffer& samples, const RepParams& p) {
  LatencySampler sampler(samples, p.duration, 64);
  for (std::uint64_t i = 1;; ++i) {
    publish(ping, Message64::make(i), "pinger");
    take(pong, wait, "pinger")->verify(i, "pinger");  // the chunk goes back here
    if (!sampler.lap()) break;
  }
  publish(ping, Message64::make(kStop), "pinger");
  return samples.size();
}

template <class Wait>
void ponger(iox::popo::Subscriber<Message64>& ping, iox::popo::Publisher<Message64>& pong,
            Wait& wait) {
  for (std::uint64_t expected = 1;; ++expected) {
    const auto in = take(ping, wait, "ponger");
    if (in->is_stop()) break;
    in->verify(expected, "ponger");
    publish(pong, *in, "ponger");
  }
}

void produce_stream(iox::popo::Publisher<Message64>& pub, ThroughputShared& shared,
                    const RepParams& p) {
  ThroughputTimer timer(shared, p.duration);
  send_stream([&](const Message64& m) { publish(pub, m, "publisher"); }, timer);
}

void consume_stream(iox::popo::Subscriber<Message64>& sub, ThroughputShared& shared,
                    const RepParams& p) {
  SpinWait spin(p.shared_core);
  ThroughputClock clock(shared);
  // A copy: the chunk goes back to the publisher at once.
  auto next = [&]() -> Message64 { return *take(sub, spin, "subscriber"); };
  clock.finish(receive_stream(next, clock, "subscriber"));
}

// The bulk streams, zero-copy: bulk_fill and bulk_check_fill in the chunk.
void produce_bulk(iox::popo::UntypedPublisher& pub, std::size_t size, BulkRound& r,
                  const RepParams& p) {
  ThroughputTimer timer(r.stream, p.duration / 2, 1, kMinBulkMessages);
  std::uint64_t seq = 1;
  do {
    void* chunk = loan(pub, size, "publisher");
    bulk_fill({static_cast<std::byte*>(chunk), size}, seq);
    pub.publish(chunk);
  } while (!timer.done(seq++));
  r.sent = seq - 1;
  void* stop = loan(pub, kBulkStopSize, "publisher");
  bulk_stop({static_cast<std::byte*>(stop), kBulkStopSize});
  pub.publish(stop);
}

void consume_bulk(iox::popo::UntypedSubscriber& sub, std::size_t i, BulkRound& r,
                  const RepParams& p) {
  SpinWait spin(p.shared_core);
  // Warm: every queue slot used twice.
  ThroughputClock clock(r.stream, 1, 2 * std::uint64_t{kBulkDepths[i]});
  for (std::uint64_t expected = 1;; ++expected) {
    const void* chunk = take(sub, spin, "subscriber");
    const std::span<const std::byte> m(
        static_cast<const std::byte*>(chunk),
        iox::mepoo::ChunkHeader::fromUserPayload(chunk)->userPayloadSize());
    const bool stop = is_bulk_stop(m);
    if (!stop) bulk_check_fill(m, kBulkSizes[i], expected, "subscriber");
    sub.release(chunk);
    if (stop) {
      clock.finish(expected);
      r.delivered = expected - 1;
      return;
    }
    clock.on_message(expected);
  }
}

// Role 0: publishes ping, the 64 B stream and the bulk streams; takes pong.
void sender(IoxShared& s, SampleBuffer (&samples)[kWaitings], const Topics& t, const RepParams& p) {
  for (SampleBuffer& b : samples) b.prefault();
  init_runtime();
  iox::popo::Publisher<Message64> ping(t.ping);
  iox::popo::Subscriber<Message64> pong(t.pong);
  iox::popo::Publisher<Message64> stream(t.stream, blocking_publisher());
  iox::popo::UntypedPublisher bulk64k(t.bulk[0], blocking_publisher());
  iox::popo::UntypedPublisher bulk1m(t.bulk[1], blocking_publisher());
  iox::popo::UntypedPublisher* bulk[] = {&bulk64k, &bulk1m};
  wait_connected("role 0", [&] {
    return ping.hasSubscribers() && subscribed(pong) && stream.hasSubscribers() &&
           bulk64k.hasSubscribers() && bulk1m.hasSubscribers();
  });
  s.connected.arrive_and_wait(2, p.shared_core);
  SpinWait spin(p.shared_core);
  s.samples[kSpin] = pinger(ping, pong, spin, samples[kSpin], p);
  {
    SleepUntilData sleep(pong, "pinger");
    s.waitset.arrive_and_wait(2, p.shared_core);
    s.samples[kWaitSet] = pinger(ping, pong, sleep, samples[kWaitSet], p);
  }
  s.stream.start.arrive_and_wait(2, p.shared_core);
  produce_stream(stream, s.stream.stream, p);
  for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
    s.bulk[i].start.arrive_and_wait(2, p.shared_core);
    produce_bulk(*bulk[i], kBulkSizes[i], s.bulk[i], p);
  }
  // Our ports go when we return: not before the subscriber is done with them.
  s.done.arrive_and_wait(2, p.shared_core);
}

// Role 1: takes ping, answers on pong; takes the streams.
void receiver(IoxShared& s, const Topics& t, const RepParams& p) {
  init_runtime();
  iox::popo::Subscriber<Message64> ping(t.ping);
  iox::popo::Publisher<Message64> pong(t.pong);
  iox::popo::Subscriber<Message64> stream(t.stream, blocking_subscriber(kStreamQueue));
  iox::popo::UntypedSubscriber bulk64k(t.bulk[0], blocking_subscriber(kBulkDepths[0]));
  iox::popo::UntypedSubscriber bulk1m(t.bulk[1], blocking_subscriber(kBulkDepths[1]));
  iox::popo::UntypedSubscriber* bulk[] = {&bulk64k, &bulk1m};
  wait_connected("role 1", [&] {
    return subscribed(ping) && pong.hasSubscribers() && subscribed(stream) && subscribed(bulk64k) &&
           subscribed(bulk1m);
  });
  s.connected.arrive_and_wait(2, p.shared_core);
  SpinWait spin(p.shared_core);
  ponger(ping, pong, spin);
  {
    SleepUntilData sleep(ping, "ponger");
    s.waitset.arrive_and_wait(2, p.shared_core);
    ponger(ping, pong, sleep);
  }
  s.stream.start.arrive_and_wait(2, p.shared_core);
  consume_stream(stream, s.stream.stream, p);
  for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
    s.bulk[i].start.arrive_and_wait(2, p.shared_core);
    consume_bulk(*bulk[i], i, s.bulk[i], p);
  }
  s.done.arrive_and_wait(2, p.shared_core);
}

}  // namespace

// The main process's half (block, ns) and the host's (roudi, reps): the host
// is a fork of the main process, so it has its own copy of this object.
struct IceoryxPeer::Impl {
  explicit Impl(Context& c)
      : ctx(c),
        ns({.purpose = "a private RouDi",
            .tmpfs = iceoryx_directories(),
            .setup = [this] { setup(); },
            .serve = [this](std::uint32_t /*request*/) { serve(); },
            .teardown = [this]() noexcept { teardown(); }},
           kSetupTimeout) {}

  void setup();
  void serve();
  void teardown() noexcept;

  [[nodiscard]] std::byte* sample_area(Waiting w) const noexcept {
    return block.extra() + w * kRoundTripSampleBytes;
  }

  Context& ctx;
  SharedBlock<IoxShared> block{kWaitings * kRoundTripSampleBytes};
  std::optional<Daemon> roudi;  // in the host
  std::uint32_t reps = 0;       // in the host: numbers each repetition's topics
  PrivateNamespace ns;          // last: it forks, so everything above must exist
};

// In the host: RouDi with our pools, its config and log in the fresh /tmp.
void IceoryxPeer::Impl::setup() {
  const std::string dir = directory(iox::platform::IOX_UDS_SOCKET_PATH_PREFIX);
  const std::string config = dir + "/shmkit-bench-roudi.toml";
  write_text(config, kRoudiConfig);
  // -k 1: at its shutdown RouDi SIGTERMs applications still registered and
  // waits this many seconds before SIGKILL (default 45).
  roudi.emplace(
      std::vector<std::string>{SHMKIT_BENCH_IOX_ROUDI, "-c", config, "-l", "warning", "-k", "1"},
      dir + "/shmkit-bench-roudi.log");
  if (!roudi->wait_for_path(roudi_socket(), kRoudiStart)) {
    throw CaseFailure("iox-roudi did not come up (waited up to " +
                      std::to_string(kRoudiStart.count()) + " s): " + roudi->describe());
  }
}

// In the host: one repetition, in two processes that live in the namespaces.
void IceoryxPeer::Impl::serve() {
  if (!roudi || !roudi->running()) {
    throw CaseFailure("iox-roudi is gone: " + (roudi ? roudi->describe() : std::string()));
  }
  IoxShared& s = *::new (&*block) IoxShared{};  // zeroed for this repetition
  SampleBuffer samples[kWaitings] = {{sample_area(kSpin), kRoundTripSampleBytes},
                                     {sample_area(kWaitSet), kRoundTripSampleBytes}};
  const Topics topics(++reps);
  const RepParams p{ctx.shared_core(), ctx.duration()};
  Team team(ctx);
  team.spawn(0, [&] { sender(s, samples, topics, p); });
  team.spawn(1, [&] { receiver(s, topics, p); });
  try {
    team.join();
  } catch (const CaseFailure& e) {
    if (roudi->running()) throw;
    throw CaseFailure(std::string(e.what()) + "; " + roudi->describe());
  }
}

void IceoryxPeer::Impl::teardown() noexcept {
  if (roudi) roudi->stop();
}

IceoryxPeer::IceoryxPeer(Context& ctx) : impl_(std::make_unique<Impl>(ctx)) {}

IceoryxPeer::~IceoryxPeer() = default;

void IceoryxPeer::rep(Context& ctx, const std::string& system, const std::string& waitset_system) {
  // The host's Team ends a stuck repetition after the watchdog; a little more
  // for the processes' start and RouDi's connections.
  impl_->ns.call(0, ctx.options().watchdog + std::chrono::seconds(30));
  const IoxShared& s = *impl_->block;
  const std::string* systems[kWaitings] = {&system, &waitset_system};
  for (const Waiting w : {kSpin, kWaitSet}) {
    record_round_trips(ctx, *systems[w], impl_->sample_area(w), s.samples[w]);
  }
  record_throughput(ctx, system, metrics::kMsgs64, s.stream.stream);
  for (std::size_t i = 0; i < kBulkSizes.size(); ++i) {
    record_bandwidth(ctx, system, kBulkSizes[i], s.bulk[i]);
  }
}

const char* IceoryxPeer::version() noexcept { return ICEORYX_LATEST_RELEASE_VERSION; }

}  // namespace shmkit::bench

#endif  // SHMKIT_BENCH_HAVE_ICEORYX
