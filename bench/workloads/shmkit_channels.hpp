#pragma once

#include <cstddef>
#include <string>

#include "harness/context.hpp"
#include "workloads/throughput_shared.hpp"

// shmkit's message channels measured like the floors and peers: two pinned
// processes, 64-byte messages (workloads/message64.hpp), each verified by
// sequence number. Each function runs one repetition and records under
// `system`.

namespace shmkit::bench {

namespace metrics {
inline const Metric kItemsPerSecond{"items/s", "item/s", Better::higher};
}  // namespace metrics

enum class PipeWaiting {
  spin,   // try_send / try_recv in a loop: busy-polling
  sleep,  // send / recv: spin briefly, then sleep in the kernel (futex)
};

// shmkit::Pipe ping-pong, one 64-byte message each way: records
// metrics::kOneWay* (round trip / 2).
void pipe_pingpong_rep(Context& ctx, const std::string& system, PipeWaiting waiting);

// shmkit::ByteQueue, one producer (role 0), one consumer (role 1), 64-byte
// messages: records metrics::kMsgs64, and the waits if `waits` says so
// (record_stream_waits). batch == 1: try_push / try_pop (into a
// std::string); batch > 1: try_push_batch / try_pop_batch of up to `batch`.
// The consumer does `work` on each message.
void queue_throughput_rep(Context& ctx, const std::string& system, std::size_t batch,
                          ConsumerWork work = {}, StreamWaits waits = StreamWaits::skip);

// The batch of the batched 64 B streams (queue.throughput, peer.boost_mq).
inline constexpr std::size_t kQueueBatch = 32;
// The system name of those streams in the tables.
inline constexpr const char* kQueueBatchSystem = "shmkit batch 32";

// The system names of the Pipe's 64 B streams, one at a time and batched
// (queue.throughput, peer.boost_mq).
inline constexpr const char* kPipeSystem = "shmkit pipe";
inline constexpr const char* kPipeBatchSystem = "shmkit pipe batch 32";

// shmkit::Pipe one way, end 0 (role 0) sending 64-byte messages, end 1
// (role 1) receiving them, verifying each and doing `work` on it: records
// metrics::kMsgs64, and the waits as queue_throughput_rep(). The
// single-producer single-consumer path. batch == 1: try_send / try_recv
// (into the message); batch > 1: try_send_batch / try_recv_batch of up to
// `batch`.
void pipe_throughput_rep(Context& ctx, const std::string& system, std::size_t batch,
                         ConsumerWork work = {}, StreamWaits waits = StreamWaits::skip);

// shmkit::List<std::int64_t>: a writer (role 0) appends items one by one, a
// reader (role 1) waits with wait_for_size and verifies each item; records
// metrics::kItemsPerSecond, the items the reader verified per second.
void list_append_read_rep(Context& ctx, const std::string& system);

}  // namespace shmkit::bench
