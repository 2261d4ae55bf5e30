#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "harness/shared_block.hpp"
#include "shmkit/queue.hpp"

// A bare shared-memory ring for bulk messages written and read in place:
// queue.bandwidth's cross-core floor, what moving a message from one core to
// another costs with no transport around it. A Lamport single-producer
// single-consumer ring of fixed-size slots: the producer alone writes the
// tail, the consumer alone the head, each on its own cache line, and each
// side re-reads the other's index only when its cached copy says full (or
// empty). No names, no lengths, no crash recovery, no sleeping: spin on full
// and empty. A `closed` flag ends a stream, as ByteQueue::close() does, read
// only when the ring looks empty.
//
// The producer and consumer have ByteQueue's zero-copy calls (try_reserve +
// Reservation::commit, try_read + Message::release), so that the very code
// that drives shmkit's zero-copy path drives this ring (workloads/bulk.cpp).

namespace shmkit::bench {

// One ring's indices, in shared memory (zeroed).
struct BulkRingIndices {
  // Written by the producer: the next position to write (positions count up
  // and never wrap: 2^64 messages), and 0 -> 1 once after its last commit.
  alignas(kCacheLine) std::atomic<std::uint64_t> tail;
  std::atomic<std::uint32_t> closed;
  // Written by the consumer: the next position to read.
  alignas(kCacheLine) std::atomic<std::uint64_t> head;
};

// Where one ring is in this process: its indices and `depth` slots of
// `size` bytes each, every one a whole message.
struct BulkRing {
  BulkRingIndices* indices;
  std::byte* slots;
  std::uint64_t depth;
  std::size_t size;
  [[nodiscard]] std::span<std::byte> slot(std::uint64_t pos) const noexcept {
    return {slots + (pos % depth) * size, size};
  }
};

class BulkRingProducer {
 public:
  // A slot to write in place; commit() publishes it.
  class Reservation {
   public:
    [[nodiscard]] std::span<std::byte> data() const noexcept { return data_; }
    // A bare ring carries no lengths: every message is a whole slot, and the
    // consumer checks that it was `size` bytes of the right message.
    void commit(std::size_t /*length*/) noexcept { producer_->publish(); }

   private:
    friend class BulkRingProducer;
    BulkRingProducer* producer_ = nullptr;
    std::span<std::byte> data_;
  };

  explicit BulkRingProducer(BulkRing ring) noexcept : ring_(ring) {}

  // ok with the next slot in `out`, or full.
  QueueStatus try_reserve(Reservation& out) noexcept {
    if (tail_ - head_cache_ == ring_.depth) {
      // acquire pairs with the consumer's release of head: its reads of the
      // slot about to be overwritten are done before these writes start.
      head_cache_ = ring_.indices->head.load(std::memory_order_acquire);
      if (tail_ - head_cache_ == ring_.depth) return QueueStatus::full;
    }
    out.producer_ = this;
    out.data_ = ring_.slot(tail_);
    return QueueStatus::ok;
  }

  // After the last commit: release orders it after the final tail, so a
  // consumer that sees `closed` then sees every message.
  void close() noexcept { ring_.indices->closed.store(1, std::memory_order_release); }

 private:
  // release pairs with the consumer's acquire of tail: every byte written in
  // the slot is visible to it before the slot is.
  void publish() noexcept { ring_.indices->tail.store(++tail_, std::memory_order_release); }

  BulkRing ring_;
  std::uint64_t tail_ = 0;
  std::uint64_t head_cache_ = 0;
};

class BulkRingConsumer {
 public:
  // A message read in place; release() frees its slot.
  class Message {
   public:
    [[nodiscard]] std::span<const std::byte> data() const noexcept { return data_; }
    void release() noexcept { consumer_->free(); }

   private:
    friend class BulkRingConsumer;
    BulkRingConsumer* consumer_ = nullptr;
    std::span<const std::byte> data_;
  };

  explicit BulkRingConsumer(BulkRing ring) noexcept : ring_(ring) {}

  // ok with the oldest message in `out`; empty; or closed once the producer
  // has closed and every message was read.
  QueueStatus try_read(Message& out) noexcept {
    if (head_ == tail_cache_) {
      // `closed` before the tail: both acquire, so a `closed` read as 1 makes
      // the tail read after it the final one (the producer stored that first).
      const bool closed = ring_.indices->closed.load(std::memory_order_acquire) != 0;
      // acquire pairs with the producer's release of tail: the slots up to it
      // hold their whole messages.
      tail_cache_ = ring_.indices->tail.load(std::memory_order_acquire);
      if (head_ == tail_cache_) return closed ? QueueStatus::closed : QueueStatus::empty;
    }
    out.consumer_ = this;
    out.data_ = ring_.slot(head_);
    return QueueStatus::ok;
  }

 private:
  // release pairs with the producer's acquire of head: this side's reads of
  // the slot are done before the producer may write it again.
  void free() noexcept { ring_.indices->head.store(++head_, std::memory_order_release); }

  BulkRing ring_;
  std::uint64_t head_ = 0;
  std::uint64_t tail_cache_ = 0;
};

}  // namespace shmkit::bench
