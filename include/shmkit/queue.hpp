#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/detail/queue_layout.hpp"
#include "shmkit/detail/slot_copy.hpp"
#include "shmkit/platform/spin.hpp"

// ByteQueue: a named, bounded, multi-producer multi-consumer queue of
// variable-size byte messages (Python's multiprocessing.Queue), lock-free,
// in memory fixed at creation: `capacity` slots of `max_message` bytes.
// Queue<T> (below) carries trivially copyable T.
//
//   auto q = shmkit::ByteQueue::create("jobs", {.capacity = 1024, .max_message = 256});
//   q.push(std::as_bytes(std::span(text)));      // blocks while full
//   std::string got;
//   if (q.pop_for(got, 1s) == shmkit::QueueStatus::ok) ...
//
// Guarantees:
// - Messages from one producer thread arrive in the order it pushed them.
// - Waiting is a futex sleep; push and pop make no syscall unless a peer
//   sleeps (not full, not empty, no waiter). Where membarrier(2) works,
//   push and pop hand their slot over with no fence either; a peer about to
//   sleep calls membarrier for them (platform/remote_fence.hpp). Before it
//   sleeps a waiter spins, as long as its handle has learned its waits need
//   (platform::SpinBudget): up to some tens of microseconds.
// - close(): pushes then return `closed`; consumers drain what is left, then
//   get `closed`. A push racing with close() either lands before it (and is
//   drained) or returns `closed`.
// - A producer or consumer killed at any instruction never blocks the others
//   for longer than about sync::kDeadOwnerCheck, and never corrupts or loses a
//   message another process had fully committed: every committed message is
//   delivered exactly once to the surviving consumers, except those a killed
//   consumer had already taken before it finished: the one it popped or held
//   by an unreleased Message, or those of a batch pop it was inside (up to
//   its `max`). Those are lost, never delivered twice.
//   A message a killed producer had reserved but not committed is skipped.
//   A thread killed asleep in push or pop costs the others a wake-up call
//   per hand-over until one finds it dead (a thread looks after every 16th
//   hand-over that woke nobody, at most once per sync::kDeadOwnerCheck): no
//   lasting cost.
//   Only the waiting calls (push/pop, push_batch/pop_batch, *_for,
//   *_until, reserve_until, read_until) finish a dead peer's slot, after
//   waiting about one sync::kDeadOwnerCheck, or at their deadline if it
//   comes first. The try_ calls never do: behind a dead peer's slot they
//   keep returning `full` or `empty`. A loop on try_ calls should call a
//   waiting form now and then (a zero timeout will do) if peers may die.
// - interrupt() ends this handle's waits at once, from another thread or a
//   signal handler: they return `interrupted`, with no message taken or
//   added (a push_batch: none after those it says it pushed), until
//   clear_interrupt() (see there).
// - A message larger than max_message() is Errc::message_too_large, nothing
//   written. Corrupted indices or lengths are Errc::corrupt, never a wild
//   read or write.
// Up to 64 producer threads and 64 consumer threads (any processes) at once:
// a 65th of a role is Errc::full (nothing written or taken) until one of
// them ends; the records of threads that ended or died are reused.
// A thread holds at most one Reservation and one Message of a queue at a
// time. A handle is move-only; its operations are thread-safe.
// Copying pushes of large messages (half this core's L2 cache or more)
// store past the producer's caches: the consumer's core reads them next
// (detail/slot_copy.hpp). Reserve and commit to write in place instead.
// A thread alone in its role holds the role's lease and claims with no
// locked instruction on the shared index; the first push (or pop) of a
// second thread in the role revokes it, waiting for the holder's claim under
// way (docs/guarantees.md).

namespace shmkit {

enum class QueueStatus {
  ok,
  empty,        // try_pop: nothing to take now
  full,         // try_push: no free slot now
  timed_out,    // a *_for / *_until deadline passed
  closed,       // push after close(); pop from a closed, drained queue
  interrupted,  // a waiting form would have waited after interrupt()
};

struct QueueConfig {
  std::uint32_t capacity = 1024;     // slots; rounded up to a power of two
  std::uint32_t max_message = 4096;  // bytes per message, at most 64 MiB
};

class ByteQueue {
 public:
  // A Reservation or a Message refers to the handle that made it: commit or
  // release it before that handle is moved or destroyed.
  class Reservation;
  class Message;

  static ByteQueue create(std::string_view name, const QueueConfig& config,
                          const SegmentOptions& options = {});
  static ByteQueue open(std::string_view name, SegmentOptions options = {});
  // `config` applies only if this call creates it.
  static ByteQueue open_or_create(std::string_view name, const QueueConfig& config,
                                  const SegmentOptions& options = {});
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  ByteQueue(ByteQueue&& other) noexcept;
  ByteQueue& operator=(ByteQueue&& other) noexcept;
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;
  ~ByteQueue();

  // --- push, copying: ok | full (try) | timed_out (for/until) | closed
  //     | interrupted (all but try) ---
  QueueStatus try_push(std::span<const std::byte> message) {
    return push_one(message, false, std::nullopt);
  }
  QueueStatus push(std::span<const std::byte> message) { return push_until(message, std::nullopt); }
  // The *_for forms read the clock only once the fast path found no room (or
  // nothing to take): a clock read costs about as much as a small message.
  template <class Rep, class Period>
  QueueStatus push_for(std::span<const std::byte> message,
                       std::chrono::duration<Rep, Period> timeout) {
    const QueueStatus status = try_push(message);
    return status == QueueStatus::full ? push_until(message, detail::deadline_after(timeout))
                                       : status;
  }
  QueueStatus push_until(std::span<const std::byte> message, platform::Deadline deadline) {
    return push_one(message, true, deadline);
  }
  // Pushes the longest prefix of `messages` that fits now, with one claim;
  // returns how many. 0 means full or closed (see closed()).
  std::size_t try_push_batch(std::span<const std::span<const std::byte>> messages);
  // Pushes all of `messages`, in order: as many as fit with each claim, and
  // waiting for room as push() does when none is left. `pushed` says how many
  // went in: all of them with ok; with closed | timed_out (the _for and
  // _until forms) | interrupted, the first `pushed`, and none of the rest.
  // Every size is checked first: one larger than max_message() is
  // Errc::message_too_large and nothing is pushed. The batch forms' _for
  // read the clock at once (not only when they must wait, as push_for()
  // does): one clock read per batch.
  //   std::size_t pushed = 0;
  //   if (q.push_batch(spans, pushed) != QueueStatus::ok) retry(spans.subspan(pushed));
  QueueStatus push_batch(std::span<const std::span<const std::byte>> messages,
                         std::size_t& pushed) {
    return push_batch_until(messages, pushed, std::nullopt);
  }
  template <class Rep, class Period>
  QueueStatus push_batch_for(std::span<const std::span<const std::byte>> messages,
                             std::size_t& pushed, std::chrono::duration<Rep, Period> timeout) {
    return push_batch_until(messages, pushed, detail::deadline_after(timeout));
  }
  QueueStatus push_batch_until(std::span<const std::span<const std::byte>> messages,
                               std::size_t& pushed, platform::Deadline deadline);

  // --- pop, copying into `out` (resized): ok | empty | timed_out | closed
  //     | interrupted ---
  QueueStatus try_pop(std::string& out) { return pop_into(out, false, std::nullopt); }
  QueueStatus try_pop(std::vector<std::byte>& out) { return pop_into(out, false, std::nullopt); }
  QueueStatus pop(std::string& out) { return pop_into(out, true, std::nullopt); }
  QueueStatus pop(std::vector<std::byte>& out) { return pop_into(out, true, std::nullopt); }
  template <class Buffer, class Rep, class Period>
  QueueStatus pop_for(Buffer& out, std::chrono::duration<Rep, Period> timeout) {
    const QueueStatus status = pop_into(out, false, std::nullopt);
    return status == QueueStatus::empty ? pop_into(out, true, detail::deadline_after(timeout))
                                        : status;
  }
  template <class Buffer>
  QueueStatus pop_until(Buffer& out, platform::Deadline deadline) {
    return pop_into(out, true, deadline);
  }
  // --- pop into a buffer of the caller's: the message goes to the start of
  // `out`, its size to `length`. Same outcomes. `out` must hold max_message()
  // bytes, or the call is Errc::message_too_large with nothing taken: a
  // queue with several consumers cannot give a taken message back, so the
  // room is checked before the claim. For fixed-size messages this is the
  // cheapest copying pop: one copy, no resize. ---
  QueueStatus try_pop(std::span<std::byte> out, std::size_t& length) {
    Into into{out, length};
    return pop_into(into, false, std::nullopt);
  }
  QueueStatus pop(std::span<std::byte> out, std::size_t& length) {
    Into into{out, length};
    return pop_into(into, true, std::nullopt);
  }
  template <class Rep, class Period>
  QueueStatus pop_for(std::span<std::byte> out, std::size_t& length,
                      std::chrono::duration<Rep, Period> timeout) {
    Into into{out, length};
    return pop_for(into, timeout);
  }
  QueueStatus pop_until(std::span<std::byte> out, std::size_t& length,
                        platform::Deadline deadline) {
    Into into{out, length};
    return pop_into(into, true, deadline);
  }
  // Pops up to `max` messages now, calling visit(std::span<const std::byte>)
  // on each in place, in order; returns how many. If `visit` throws, the
  // exception propagates and the batch's messages not yet visited are lost
  // with it: they were taken from the queue. Visit must not throw where
  // every message counts. A slot whose length is corrupted is skipped, the
  // rest of the batch is still visited, and then Errc::corrupt is thrown.
  template <class Visit>
  std::size_t try_pop_batch(std::size_t max, Visit&& visit) {
    return pop_ready(max, &visit_thunk<Visit>, context_of(visit));
  }
  // Waits until a message can be taken, as pop() does, then pops up to `max`
  // (>= 1, else std::invalid_argument) as try_pop_batch() does: those ready
  // now, each visited in place, in order, with the same rules for a throwing
  // visit and a corrupted length. `taken` says how many were visited.
  // ok (taken >= 1) | closed (closed and drained) | timed_out (the _for and
  // _until forms) | interrupted, with taken 0.
  //   std::size_t n = 0;
  //   auto use = [&](std::span<const std::byte> m) { total += m.size(); };
  //   while (q.pop_batch(64, n, use) == QueueStatus::ok) {}
  template <class Visit>
  QueueStatus pop_batch(std::size_t max, std::size_t& taken, Visit&& visit) {
    return pop_batch_waiting(max, taken, std::nullopt, &visit_thunk<Visit>, context_of(visit));
  }
  template <class Rep, class Period, class Visit>
  QueueStatus pop_batch_for(std::size_t max, std::size_t& taken,
                            std::chrono::duration<Rep, Period> timeout, Visit&& visit) {
    return pop_batch_until(max, taken, detail::deadline_after(timeout), visit);
  }
  template <class Visit>
  QueueStatus pop_batch_until(std::size_t max, std::size_t& taken, platform::Deadline deadline,
                              Visit&& visit) {
    return pop_batch_waiting(max, taken, deadline, &visit_thunk<Visit>, context_of(visit));
  }

  // --- zero-copy: write in place and commit; read in place and release ---
  QueueStatus try_reserve(Reservation& out) { return reserve(out, false, std::nullopt); }
  QueueStatus reserve_until(Reservation& out, platform::Deadline deadline) {
    return reserve(out, true, deadline);
  }
  QueueStatus try_read(Message& out) { return read(out, false, std::nullopt); }
  QueueStatus read_until(Message& out, platform::Deadline deadline) {
    return read(out, true, deadline);
  }

  // --- interrupt: cancel this handle's waits, from any thread or a signal handler ---
  //   std::thread worker([&] { while (q.pop(msg) == QueueStatus::ok) use(msg); });
  //   q.interrupt();  // worker's pop returns `interrupted`, asleep or not yet
  //   worker.join();
  // After interrupt(), a waiting call of this handle (push, pop, push_batch,
  // pop_batch, the *_for and *_until forms, reserve_until, read_until) that
  // finds no slot (no message) returns `interrupted` instead of waiting:
  // those asleep now, on any thread, wake and return at once, and so does
  // every later one until clear_interrupt(). The flag is sticky, so an
  // interrupt that comes just before a wait starts is not missed. An
  // interrupted call took no message and added none. A call that needs no
  // wait still succeeds (a pop of a non-empty queue takes its message); the
  // try_ calls never see the flag. Not `timed_out`: a call with no deadline
  // does not time out, and a loop that retries on timed_out would spin on a
  // sticky interrupt. Other handles of the queue, in this process or
  // another, go on waiting (their sleepers wake once, find nothing, and
  // sleep again). A wait that would have recovered a dead peer's slot
  // returns `interrupted` instead, as a try_ call returns `full` or `empty`
  // (guarantees above).
  // Async-signal-safe: lock-free atomics and FUTEX_WAKE; errno is kept. The
  // handle must outlive the call and not be moved during it: clear a signal
  // handler's pointer to it (InterruptWatch::set_hook()) before that.
  void interrupt() noexcept;
  // Waiting calls wait again. One asleep when it comes may or may not have
  // seen the interrupt; call it once the interrupted calls have returned.
  void clear_interrupt() noexcept;
  [[nodiscard]] bool interrupted() const noexcept;

  void close() noexcept;
  [[nodiscard]] bool closed() const noexcept;
  [[nodiscard]] std::uint32_t capacity() const noexcept { return slot_count_; }
  [[nodiscard]] std::uint32_t max_message() const noexcept { return max_message_; }
  // Messages claimed by producers and not yet by consumers: a snapshot.
  [[nodiscard]] std::uint64_t depth() const noexcept;
  // Live producer and consumer threads registered now (for tools).
  [[nodiscard]] std::uint32_t producers() const;
  [[nodiscard]] std::uint32_t consumers() const;
  [[nodiscard]] const Segment& segment() const noexcept { return segment_; }

 private:
  friend class Reservation;
  friend class Message;
  enum class Role { producer, consumer };
  static constexpr Role other(Role role) noexcept {
    return role == Role::producer ? Role::consumer : Role::producer;
  }
  using Visitor = void (*)(void*, std::span<const std::byte>);

  explicit ByteQueue(Segment segment);
  detail::QueueSlot& slot(std::uint64_t pos) const noexcept;
  std::byte* payload(std::uint64_t pos) const noexcept;
  // This thread's record for `role`, registering it on first use. Inline,
  // defined and used in byte_queue.cpp only: the hit path is a few loads.
  inline detail::QueueParticipant& participant(Role role);
  // participant()'s slow path: finds or claims the record, caches its index.
  detail::QueueParticipant& register_participant(Role role, std::uint64_t me);
  void leave() noexcept;
  // Accessors of the push and pop paths, inline: an exported function is a
  // call the compiler cannot remove (-fPIC), and these are one instruction.
  // The role's lease (detail/queue_layout.hpp): a thread alone in its role
  // moves the index with a plain store.
  [[nodiscard]] std::atomic<std::uint32_t>& lease(Role role) const noexcept {
    return role == Role::producer ? head_->producer_lease : head_->consumer_lease;
  }
  // The index the role claims positions on: tail for producers, head for consumers.
  [[nodiscard]] std::atomic<std::uint64_t>& index(Role role) const noexcept {
    return role == Role::producer ? head_->tail : head_->head;
  }
  [[nodiscard]] detail::QueueParticipant* records(Role role) const noexcept {
    return role == Role::producer ? head_->producers : head_->consumers;
  }
  // Raises the role's light flag (light_producers or light_consumers,
  // detail/queue_layout.hpp) for a registering thread of a light process.
  void announce_light(Role role) noexcept;
  bool holds_lease(Role role, const detail::QueueParticipant& me) noexcept;
  // The lease holder's answer to a revoker (see holds_lease()).
  [[gnu::cold]] static void acknowledge_revocation(std::atomic<std::uint32_t>& word,
                                                   std::uint32_t seen) noexcept;
  void settle_lease(Role role, std::uint32_t index);
  void revoke_lease(Role role, std::uint32_t seen);

  // Positions [first, first + got), taken by the thread whose record is `holder`.
  struct Claim {
    std::uint64_t first = 0;
    std::uint64_t got = 0;
    detail::QueueParticipant* holder = nullptr;
  };
  QueueStatus claim(Role role, std::uint64_t want, bool wait, const platform::Deadline& deadline,
                    Claim& out) {
    const QueueStatus status = try_claim(role, want, out);
    const QueueStatus busy = role == Role::producer ? QueueStatus::full : QueueStatus::empty;
    if (status != busy || !wait) return status;
    return wait_to_claim(role, want, deadline, out);
  }
  // claim()'s slow path: spin, then sleep until a claim succeeds or the deadline.
  QueueStatus wait_to_claim(Role role, std::uint64_t want, const platform::Deadline& deadline,
                            Claim& out);
  // Errc::corrupt (our waiting bit cleared first) if the head is past the tail.
  void check_head_not_past_tail(std::uint64_t waiting_bit);
  // try_claim() found slot `pos` with a sequence that no queue in use has:
  // withdraws this thread's recorded claim and throws Errc::corrupt. Cold,
  // out of the claim's way.
  [[noreturn, gnu::noinline, gnu::cold]] void corrupt_claim(Role role, std::uint64_t pos,
                                                            std::uint64_t seq, const char* what);
  QueueStatus try_claim(Role role, std::uint64_t want, Claim& out);
  void commit(std::uint64_t pos, std::uint32_t length) noexcept;
  void release(std::uint64_t pos) noexcept;
  // The batch forms: commit or release without waking, then wake once.
  void commit_quietly(std::uint64_t pos, std::uint32_t length) noexcept;
  void release_quietly(std::uint64_t pos) noexcept;
  void wake_after_run(Role sleepers, std::uint64_t n) noexcept;
  // The role's waiting bits and futex word (detail/queue_layout.hpp).
  [[nodiscard]] std::atomic<std::uint64_t>& waiting(Role role) const noexcept {
    return role == Role::producer ? head_->producers_waiting : head_->consumers_waiting;
  }
  // Raised once a thread of a light process registered in the role.
  [[nodiscard]] std::atomic<std::uint32_t>& light_flag(Role role) const noexcept {
    return role == Role::producer ? head_->light_producers : head_->light_consumers;
  }
  [[nodiscard]] std::atomic<std::uint32_t>& sleep_word(Role role) const noexcept {
    return role == Role::producer ? head_->not_full : head_->not_empty;
  }
  // Wakes up to `count` sleepers of the role; if that woke none, drops the
  // waiting bits of its threads that died asleep.
  void wake(Role sleepers, int count) noexcept;
  void drop_dead_sleepers(Role role) noexcept;
  void clear_pending(detail::QueueParticipant& holder) noexcept;
  bool recover(Role role) noexcept;
  void check_size(std::size_t bytes) const {
    if (bytes > max_message_) throw_too_large(bytes);
  }
  [[noreturn]] void throw_too_large(std::size_t bytes) const;
  std::uint32_t checked_length(std::uint64_t pos) const;

  // The internal paths take the deadline by reference, never by value: a
  // try_ call's std::nullopt is one byte stored on the stack, and passing
  // the 16-byte optional in registers loads it back whole. A load wider than
  // the store cannot be forwarded from the store buffer, so it waited until
  // every earlier store had reached the cache, the previous message's slot
  // stores included, which wait for the slot's line to come back from the
  // consumer's core: a full fence per message in effect. By value,
  // queue.throughput's one-at-a-time stream was 0.51-0.53 of the bare MPMC
  // ring on an AMD EPYC guest; by reference 0.60-0.62 (interleaved rounds).
  QueueStatus push_one(std::span<const std::byte> message, bool wait,
                       const platform::Deadline& deadline);
  // push_one()'s two calls around its inline copy: a claimed slot
  // (prefetching a later one; reserve() claims with it too), then its commit
  // and the claim's record cleared.
  QueueStatus claim_to_push(bool wait, const platform::Deadline& deadline, Claim& out);
  void finish_push(const Claim& c, std::size_t length) noexcept;
  // The same around pop_into()'s copy (read() claims with it too): a claimed
  // message and its `length` (a dead or closed-out producer's slots are
  // skipped, a corrupt length is Errc::corrupt), then its release and the
  // claim's record cleared. pop_into() makes no Message: its fields and
  // calls cost the consumer about 20 instructions a message (callgrind).
  QueueStatus claim_to_pop(bool wait, const platform::Deadline& deadline, Claim& out,
                           std::uint32_t& length);
  void finish_pop(const Claim& c) noexcept;
  // The pops' one loop copies out through store(): into a string or vector
  // (resized), or into Into, a caller's span whose room check_room() checks
  // before anything is claimed (for a resized buffer it checks nothing).
  struct Into {
    std::span<std::byte> bytes;
    std::size_t& length;
  };
  template <class Buffer>
  static void store(Buffer& out, const std::byte* message, std::uint32_t length);
  static void store(Into& out, const std::byte* message, std::uint32_t length) noexcept;
  template <class Buffer>
  static void check_room(const Buffer& /*out*/) noexcept {}
  void check_room(const Into& out) const {
    if (out.bytes.size() < max_message_) throw_too_small(out.bytes.size());
  }
  [[noreturn]] void throw_too_small(std::size_t room) const;
  template <class Buffer>
  QueueStatus pop_into(Buffer& out, bool wait, const platform::Deadline& deadline);
  // The batch forms' non-template halves: a visit is called through
  // visit_thunk, with a pointer to the caller's callable.
  template <class Visit>
  static void visit_thunk(void* ctx, std::span<const std::byte> m) {
    (*static_cast<std::remove_reference_t<Visit>*>(ctx))(m);
  }
  // The callable as visit_thunk's context; visit_thunk gives it back its
  // const, if it had one.
  template <class Visit>
  static void* context_of(Visit& visit) noexcept {
    return const_cast<void*>(static_cast<const void*>(std::addressof(visit)));  // NOLINT
  }
  // try_push_batch() after its size checks.
  std::size_t push_run(std::span<const std::span<const std::byte>> messages);
  // Visits and releases the slots of claim `c` (skipping dead producers'
  // tombstones, and corrupted lengths, which set `corrupt`); returns how
  // many it visited.
  std::size_t deliver(const Claim& c, Visitor visit, void* ctx, bool& corrupt);
  // Claims and delivers what is ready now, up to `max`, until a corrupted
  // length or nothing more.
  std::size_t take_ready(std::size_t max, Visitor visit, void* ctx, bool& corrupt);
  [[noreturn]] void throw_corrupt_in_batch() const;
  std::size_t pop_ready(std::size_t max, Visitor visit, void* ctx);  // try_pop_batch()
  QueueStatus pop_batch_waiting(std::size_t max, std::size_t& taken,
                                const platform::Deadline& deadline, Visitor visit, void* ctx);
  QueueStatus reserve(Reservation& out, bool wait, const platform::Deadline& deadline);
  QueueStatus read(Message& out, bool wait, const platform::Deadline& deadline);

  Segment segment_;
  detail::QueueHead* head_ = nullptr;
  std::byte* slots_ = nullptr;
  // Validated copies of the immutable head.
  std::uint32_t slot_count_ = 0;
  std::uint32_t max_message_ = 0;
  std::uint64_t slot_size_ = 0;
  // Set by interrupt(), cleared by clear_interrupt(); read by waiters. This
  // handle's own: it lives in this process, not in the segment.
  std::atomic<bool> interrupted_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);  // async-signal-safe
  // How long this handle's producers [0] and consumers [1] spin before they
  // sleep (platform::SpinBudget).
  platform::SpinBudget spin_budget_[2];
};

// A slot reserved for writing in place. commit(n) publishes its first n
// bytes; destroyed without commit, the slot is skipped by consumers. It may
// be moved to, committed or destroyed on any thread of the process, even
// after the thread that reserved it has exited, while the queue handle
// lives: the slot is held as long as the process runs. Consumers wait for it
// (a Reservation never finished stalls them until the process exits); once
// the process is dead, they skip it. Until it is finished, the thread that
// reserved it can reserve no other slot of this queue.
class ByteQueue::Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& other) noexcept;
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();
  [[nodiscard]] std::span<std::byte> data() const noexcept { return data_; }
  [[nodiscard]] bool active() const noexcept { return queue_ != nullptr; }
  // Publishes the first `length` bytes (<= data().size()).
  void commit(std::size_t length);

 private:
  friend class ByteQueue;
  ByteQueue* queue_ = nullptr;
  detail::QueueParticipant* holder_ = nullptr;  // the record that claimed pos_
  std::uint64_t pos_ = 0;
  std::span<std::byte> data_;
};

// A message read in place. release() frees its slot; so does destruction,
// on any thread of the process (as for a Reservation: the slot, and its
// bytes, stay the holder's as long as the process runs, even after the
// thread that read it has exited). Until it is released, the thread that
// read it can take no other message of this queue.
class ByteQueue::Message {
 public:
  Message() = default;
  Message(Message&& other) noexcept;
  Message& operator=(Message&& other) noexcept;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message() { release(); }
  [[nodiscard]] std::span<const std::byte> data() const noexcept { return data_; }
  [[nodiscard]] bool active() const noexcept { return queue_ != nullptr; }
  void release() noexcept;

 private:
  friend class ByteQueue;
  ByteQueue* queue_ = nullptr;
  Claim claim_;  // its one position
  std::span<const std::byte> data_;
};

inline std::byte* ByteQueue::payload(std::uint64_t pos) const noexcept {
  return slots_ + (pos & (slot_count_ - 1)) * slot_size_ + detail::kQueueSlotHeader;
}

// Inline, so that the copy is the caller's: a message the caller has just
// built goes from its registers (or a same-sized spill) into the slot. A
// library memcpy loads it back whole from memory written in smaller pieces,
// a load the store buffer cannot forward, so it waited for the previous
// message's slot stores to reach the cache, as the by-value deadline did
// (see push_one()'s declaration). Interleaved rounds on an AMD EPYC guest: queue.throughput's
// one-at-a-time stream 26-28 -> 28-31 M msgs/s (fast regime) and 10.0-10.2 -> 10.4-12.1 (slow),
// queue.scaling's 1x1 10.8-11.4 -> 13.5-13.8 M msgs/s.
inline QueueStatus ByteQueue::push_one(std::span<const std::byte> message, bool wait,
                                       const platform::Deadline& deadline) {
  check_size(message.size());
  Claim c;
  const QueueStatus status = claim_to_push(wait, deadline, c);
  if (status != QueueStatus::ok) return status;
  detail::copy_into_slot(payload(c.first), message);
  finish_push(c, message.size());
  return status;
}

template <class Buffer>
void ByteQueue::store(Buffer& out, const std::byte* message, std::uint32_t length) {
  detail::resize_and_copy_from_slot(out, message, length);
}

inline void ByteQueue::store(Into& out, const std::byte* message, std::uint32_t length) noexcept {
  detail::copy_from_slot(out.bytes.data(), message, length);
  out.length = length;
}

template <class Buffer>
QueueStatus ByteQueue::pop_into(Buffer& out, bool wait, const platform::Deadline& deadline) {
  check_room(out);
  Claim c;
  std::uint32_t length = 0;
  const QueueStatus status = claim_to_pop(wait, deadline, c, length);
  if (status != QueueStatus::ok) return status;
  // Released whatever happens, as a Message would be: if the buffer cannot
  // grow, the message is lost (taken, never delivered twice).
  struct Finish {
    ByteQueue& queue;
    const Claim& claim;
    ~Finish() { queue.finish_pop(claim); }
  } finish{*this, c};
  store(out, payload(c.first), length);
  return status;
}

// Queue<T>: a ByteQueue of trivially copyable T, one T per message.
template <class T>
class Queue {
  static_assert(std::is_trivially_copyable_v<T>, "Queue<T> needs a trivially copyable T");

 public:
  static Queue create(std::string_view name, std::uint32_t capacity,
                      const SegmentOptions& options = {}) {
    return Queue(ByteQueue::create(name, {capacity, sizeof(T)}, typed(options)));
  }
  static Queue open(std::string_view name, SegmentOptions options = {}) {
    return Queue(ByteQueue::open(name, typed(std::move(options))));
  }
  static Queue open_or_create(std::string_view name, std::uint32_t capacity,
                              const SegmentOptions& options = {}) {
    return Queue(ByteQueue::open_or_create(name, {capacity, sizeof(T)}, typed(options)));
  }
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return ByteQueue::remove(name, options);
  }

  QueueStatus try_push(const T& value) { return queue_.try_push(bytes(value)); }
  QueueStatus push(const T& value) { return queue_.push(bytes(value)); }
  template <class Rep, class Period>
  QueueStatus push_for(const T& value, std::chrono::duration<Rep, Period> timeout) {
    return queue_.push_for(bytes(value), timeout);
  }
  QueueStatus try_pop(T& out) {
    return pop_value(out, [&](std::span<std::byte> raw, std::size_t& length) {
      return queue_.try_pop(raw, length);
    });
  }
  QueueStatus pop(T& out) {
    return pop_value(out, [&](std::span<std::byte> raw, std::size_t& length) {
      return queue_.pop(raw, length);
    });
  }
  template <class Rep, class Period>
  QueueStatus pop_for(T& out, std::chrono::duration<Rep, Period> timeout) {
    return pop_value(out, [&](std::span<std::byte> raw, std::size_t& length) {
      return queue_.pop_for(raw, length, timeout);
    });
  }
  QueueStatus push_until(const T& value, platform::Deadline deadline) {
    return queue_.push_until(bytes(value), deadline);
  }
  QueueStatus pop_until(T& out, platform::Deadline deadline) {
    return pop_value(out, [&](std::span<std::byte> raw, std::size_t& length) {
      return queue_.pop_until(raw, length, deadline);
    });
  }
  // Pushes the longest prefix of `values` that fits now, in claims of up to
  // kBatch; returns how many. 0 means full or closed (see closed()).
  std::size_t try_push_batch(std::span<const T> values) {
    std::size_t pushed = 0;
    std::array<std::span<const std::byte>, kBatch> spans;
    while (pushed < values.size()) {
      const std::size_t n = std::min(kBatch, values.size() - pushed);
      for (std::size_t i = 0; i < n; ++i) spans[i] = bytes(values[pushed + i]);
      const std::size_t done = queue_.try_push_batch(std::span(spans.data(), n));
      pushed += done;
      if (done < n) break;
    }
    return pushed;
  }
  // Pops up to `max` values now (at most capacity() in one call), appending
  // them to `out` in order; returns how many. Room for them is reserved
  // first, so that none is taken and then lost to a failed allocation. A
  // message that is not sizeof(T) bytes (pushed through bytes_queue(), or
  // corrupted) is dropped, as try_pop() drops it; the batch's other values
  // are still appended to `out`, and then Errc::corrupt is thrown.
  std::size_t try_pop_batch(std::size_t max, std::vector<T>& out) {
    Appender append{out, std::nullopt};
    const std::size_t n = queue_.try_pop_batch(reserve_batch(max, out), append);
    if (append.wrong_size) check_size(*append.wrong_size);  // throws
    return n;
  }
  // The waiting batch forms, as ByteQueue's push_batch() and pop_batch():
  // push_batch pushes all of `values` in order, waiting for room, and
  // `pushed` says how many went in (all with ok); pop_batch waits for a
  // value, then appends up to `max` (>= 1; at most capacity()) of those
  // ready to `out` as try_pop_batch() does: ok (at least one appended) |
  // closed | timed_out | interrupted (none appended).
  QueueStatus push_batch(std::span<const T> values, std::size_t& pushed) {
    return push_batch_until(values, pushed, std::nullopt);
  }
  template <class Rep, class Period>
  QueueStatus push_batch_for(std::span<const T> values, std::size_t& pushed,
                             std::chrono::duration<Rep, Period> timeout) {
    return push_batch_until(values, pushed, detail::deadline_after(timeout));
  }
  QueueStatus push_batch_until(std::span<const T> values, std::size_t& pushed,
                               platform::Deadline deadline) {
    pushed = 0;
    while (pushed < values.size()) {
      const std::size_t n = try_push_batch(values.subspan(pushed));
      if (n != 0) {
        pushed += n;
        continue;
      }
      const QueueStatus status = push_until(values[pushed], deadline);  // waits for room
      if (status != QueueStatus::ok) return status;
      ++pushed;
    }
    return QueueStatus::ok;
  }
  QueueStatus pop_batch(std::size_t max, std::vector<T>& out) {
    return pop_batch_until(max, out, std::nullopt);
  }
  template <class Rep, class Period>
  QueueStatus pop_batch_for(std::size_t max, std::vector<T>& out,
                            std::chrono::duration<Rep, Period> timeout) {
    return pop_batch_until(max, out, detail::deadline_after(timeout));
  }
  QueueStatus pop_batch_until(std::size_t max, std::vector<T>& out, platform::Deadline deadline) {
    Appender append{out, std::nullopt};
    std::size_t taken = 0;
    const QueueStatus status =
        queue_.pop_batch_until(reserve_batch(max, out), taken, deadline, append);
    if (append.wrong_size) check_size(*append.wrong_size);  // throws
    return status;
  }

  // As ByteQueue's: push and pop (and their timed forms) return `interrupted`
  // instead of waiting, from now until clear_interrupt(). Async-signal-safe.
  void interrupt() noexcept { queue_.interrupt(); }
  void clear_interrupt() noexcept { queue_.clear_interrupt(); }
  [[nodiscard]] bool interrupted() const noexcept { return queue_.interrupted(); }

  void close() noexcept { queue_.close(); }
  [[nodiscard]] bool closed() const noexcept { return queue_.closed(); }
  [[nodiscard]] std::uint32_t capacity() const noexcept { return queue_.capacity(); }
  // Values pushed and not yet popped: a snapshot.
  [[nodiscard]] std::uint64_t depth() const noexcept { return queue_.depth(); }
  [[nodiscard]] std::uint32_t producers() const { return queue_.producers(); }
  [[nodiscard]] std::uint32_t consumers() const { return queue_.consumers(); }
  [[nodiscard]] const Segment& segment() const noexcept { return queue_.segment(); }
  // The queue underneath: zero-copy loans, and the rest of ByteQueue's API.
  [[nodiscard]] ByteQueue& bytes_queue() noexcept { return queue_; }

 private:
  // A queue of T's fingerprint holds messages of sizeof(T) bytes, unless a
  // ByteQueue was created with that fingerprint by hand: refused here, where
  // the pops into a T-sized buffer would refuse every message.
  explicit Queue(ByteQueue queue) : queue_(std::move(queue)) {
    if (queue_.max_message() != sizeof(T)) {
      throw Error(Errc::type_mismatch,
                  "queue '" + queue_.segment().name() + "': its messages are up to " +
                      std::to_string(queue_.max_message()) + " bytes, a value of this type is " +
                      std::to_string(sizeof(T)));
    }
  }
  static SegmentOptions typed(SegmentOptions options) {
    options.type = TypeFingerprint::of<T>();
    return options;
  }
  static std::span<const std::byte> bytes(const T& value) {
    return std::as_bytes(std::span<const T, 1>(&value, 1));
  }
  static constexpr std::size_t kBatch = 32;
  // A batch pop's size, `max` but at most capacity(), with room reserved
  // for that many more in `out`: the visit's appends cannot then fail.
  std::size_t reserve_batch(std::size_t max, std::vector<T>& out) const {
    const std::size_t n = std::min<std::size_t>(max, queue_.capacity());
    out.reserve(out.size() + n);
    return n;
  }
  // The batch pops' visit: appends each message of sizeof(T) bytes to `out`
  // (room reserved by the caller) and notes the size of the first that is
  // not, for check_size() once the batch is done.
  struct Appender {
    std::vector<T>& out;
    std::optional<std::size_t> wrong_size;
    void operator()(std::span<const std::byte> m) {
      if (m.size() != sizeof(T)) {
        if (!wrong_size) wrong_size = m.size();
        return;
      }
      // Through bytes and bit_cast, not into a `T value;`: T need not be
      // default-constructible, only trivially copyable.
      std::array<std::byte, sizeof(T)> raw;  // NOLINT(cppcoreguidelines-pro-type-member-init)
      std::memcpy(raw.data(), m.data(), sizeof(T));
      out.push_back(std::bit_cast<T>(raw));
    }
  };
  void check_size(std::size_t size) const {
    if (size != sizeof(T)) {
      throw Error(Errc::corrupt, "queue '" + queue_.segment().name() + "': a message of " +
                                     std::to_string(size) + " bytes, expected " +
                                     std::to_string(sizeof(T)));
    }
  }
  // Pops one message into raw bytes with `pop` (a ByteQueue pop into a
  // caller's buffer: no Message, one copy) and only then into `out`, so that
  // a message of the wrong size (pushed through bytes_queue(), or corrupted)
  // leaves `out` as it was: dropped, and Errc::corrupt.
  template <class Pop>
  QueueStatus pop_value(T& out, Pop pop) {
    // Aligned for the copy's words (detail/slot_copy.hpp).
    alignas(8) std::array<std::byte, sizeof(T)>
        raw;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    std::size_t length = 0;
    const QueueStatus status = pop(std::span<std::byte>(raw), length);
    if (status != QueueStatus::ok) return status;
    check_size(length);
    std::memcpy(&out, raw.data(), sizeof(T));
    return status;
  }
  ByteQueue queue_;
};

}  // namespace shmkit
