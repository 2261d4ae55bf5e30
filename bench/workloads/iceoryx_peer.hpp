#pragma once

#include <memory>
#include <string>

#include "harness/context.hpp"

// eclipse iceoryx 2.0 publish/subscribe as a peer (built only where
// SHMKIT_BENCH_HAVE_ICEORYX; see bench/CMakeLists.txt).
//
// iceoryx needs its broker, RouDi, running. IceoryxPeer starts one of its own
// for the case, in private mount, IPC and PID namespaces with a fresh tmpfs on
// /dev/shm and /tmp (PrivateNamespace, workloads/private_namespace.hpp), so
// that it can never meet another RouDi on the machine, and stops it at the
// end. RouDi's start (about 0.2 s) is paid once per case, outside any figure.
// The PID namespace matters as well: when it stops, RouDi signals (SIGTERM,
// then SIGKILL) every application still registered, by process id; in the
// namespace those ids can only be ours.
//
// Each repetition runs in two new pinned processes inside the namespaces,
// each an iceoryx application of its own (its own runtime name), on topics
// new to that repetition:
// - ping-pong: 64-byte messages (Message64) on a ping and a pong topic, each
//   loaned, written in place and published; the receiver busy-polls take()
//   and verifies it in the chunk. Records metrics::kOneWay* (round trip / 2).
//   Then the same again with each receiver asleep in a WaitSet while its queue
//   is empty (iceoryx's blocking receive), recorded under a second system.
// - 64 B stream: the publisher loans and publishes as fast as it can; the
//   subscriber's queue is as deep as iceoryx allows (256) and blocks the
//   publisher when full (QueueFullPolicy::BLOCK_PRODUCER with
//   ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER): nothing is dropped, every
//   message is verified. Records metrics::kMsgs64.
// - 64 KiB and 1 MiB streams, zero-copy: the publisher fills each loaned chunk
//   in place, the subscriber checks every byte in place and releases it, as
//   bulk.hpp's BulkPath::zero_copy does with a shmkit::ByteQueue (queues as
//   deep: 16 and 8). Records metrics::kMsgs64K and kMsgs1M.

namespace shmkit::bench {

class IceoryxPeer {
 public:
  // Starts RouDi in its namespaces. Throws CaseSkipped where namespaces or
  // mounts are not permitted (the reason in it), CaseFailure if RouDi does
  // not come up.
  explicit IceoryxPeer(Context& ctx);
  IceoryxPeer(const IceoryxPeer&) = delete;
  IceoryxPeer& operator=(const IceoryxPeer&) = delete;
  // Stops RouDi and the namespaces' processes.
  ~IceoryxPeer();

  // One repetition of every workload above; records under `system`, the
  // WaitSet ping-pong under `waitset_system`.
  void rep(Context& ctx, const std::string& system, const std::string& waitset_system);

  // iceoryx's version, as built against ("2.0.3").
  static const char* version() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shmkit::bench
