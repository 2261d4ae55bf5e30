#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "shmkit/detail/named_state.hpp"
#include "shmkit/detail/pipe_layout.hpp"
#include "shmkit/detail/slot_copy.hpp"
#include "shmkit/detail/slot_prefetch.hpp"
#include "shmkit/platform/remote_fence.hpp"
#include "shmkit/platform/spin.hpp"
#include "shmkit/queue.hpp"

// Pipe: a named duplex connection between exactly two endpoints, the
// counterpart of multiprocessing.Pipe() (send_bytes / recv_bytes / poll).
// Two unrelated processes rendezvous on the name: create() takes end 0,
// open() the free end (end 1, or end 0 once the creator let it go). Each direction is a
// single-producer single-consumer ring of `capacity` slots of `max_message` bytes; the receiver
// polls the slot itself, so a small message costs about one cache-line transfer.
// Size max_message to your largest message: slots for messages of up to 240
// bytes are packed 16 bytes apart (a 64-byte message and its 16-byte header
// fill 80 bytes, 1.25 cache lines a message in a stream), larger ones take
// whole lines (with the default 4096, 4160 bytes a slot).
//
//   auto a = shmkit::Pipe::create("link");   // process A
//   auto b = shmkit::Pipe::open("link");     // process B
//   a.send(bytes);  b.recv(text);  b.send(reply);  a.recv(text);
//
// Streams of small messages: try_send_batch() and try_recv_batch(), and
// their waiting forms send_batch() and recv_batch(), move a run of messages
// with one hand-over each way, one look at whether the peer sleeps per run
// instead of per message (docs/BENCHMARKS.md has what each way measured).
// Large messages (half this core's L2 cache or more) are sent as the
// queue's are, past the sender's caches (detail/slot_copy.hpp).
// Waiting: recv/send spin briefly, then sleep (futex); each handle learns
// how long to spin from its own waits, up to some tens of microseconds while
// its peer is busy, a few while its waits outlast the spin
// (platform::SpinBudget). try_recv/try_send never wait (loop on them for
// busy-polling). Outcomes are QueueStatus.
// Close: after close() (or the handle's end), this end's sends return
// `closed`; the peer's recv returns what was sent before, then `closed`, and
// its sends return `closed`. So nothing more reaches this end either: its
// recv too returns what had arrived, then `closed`. An end let go so (its
// handle closed or destroyed) is free again: a later open() takes it, and the
// survivor's closed() turns false, its sends and recv work again with the new
// peer. `closed` means "no peer now"; for an end of stream for good, send a
// last message of your own, or remove the pipe.
// Death: if the peer dies, recv still returns what it had sent, then
// `closed`, and a send that has to wait for room returns `closed`; a waiter
// notices within about sync::kDeadOwnerCheck, and peer_alive() tells at once.
// A send that finds room succeeds: the end is not closed, and a later open()
// takes it over. Every message the old holder had committed, and every
// message sent to it that it had not received, arrives once, in order; the
// one message the old holder was reading (inside recv, or peeked and not
// released), if any, is delivered again (at least once for that one); if it
// died inside try_recv_batch() or recv_batch(), every message of that
// batch is.
//
// Threads: one thread may send while another receives on the same handle;
// two threads must not send (or receive) at once on one end. close() may
// come from any thread: a send asleep waiting for room then returns
// `closed`, and so does every send after it; a recv asleep returns `closed`
// (having nothing left to take). A send already past its room check when
// close() runs on another thread may still return `ok`: its message lands
// in the ring and the peer gets it only if it receives again after its
// `closed`. A send that returned before close() was called arrives before
// the peer's `closed`.
// Interrupt: interrupt(), from any thread or a signal handler, ends this
// handle's waits without closing anything: a send or recv that would wait
// returns `interrupted` until clear_interrupt() (see there).

namespace shmkit {

struct PipeConfig {
  std::uint32_t capacity = 256;      // slots per direction; rounded up to a power of two
  std::uint32_t max_message = 4096;  // bytes per message, at most 64 MiB
};

class Pipe {
 public:
  static Pipe create(std::string_view name, const PipeConfig& config = {},
                     const SegmentOptions& options = {});
  // Takes a free end of NAME (never taken, or let go: its holder's handle
  // closed or destroyed) or one whose process died, end 1 first;
  // Errc::already_exists if both ends are held by live processes.
  static Pipe open(std::string_view name, const SegmentOptions& options = {});
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return Segment::remove(name, options);
  }

  Pipe(Pipe&& other) noexcept;
  Pipe& operator=(Pipe&& other) noexcept;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe();

  // --- send: ok | full (try) | timed_out | closed (this end or the peer's was
  // closed, or the peer died while we waited for room) | interrupted (all but
  // try). std::logic_error while a try_reserve() slot is not committed. ---
  QueueStatus try_send(std::span<const std::byte> message);
  QueueStatus send(std::span<const std::byte> message) { return send_until(message, std::nullopt); }
  // The *_for forms read the clock only once the fast path found no room (or
  // nothing to take): a clock read costs about as much as a small message.
  template <class Rep, class Period>
  QueueStatus send_for(std::span<const std::byte> message,
                       std::chrono::duration<Rep, Period> timeout) {
    const QueueStatus status = try_send(message);
    return status == QueueStatus::full ? send_until(message, detail::deadline_after(timeout))
                                       : status;
  }
  QueueStatus send_until(std::span<const std::byte> message, platform::Deadline deadline);
  // Sends the longest prefix of `messages` that fits now, in order, and
  // hands them over at once (one look at whether the peer sleeps, one
  // wake-up); returns how many. 0: full or closed (closed() says which).
  // Every size is checked first: a message larger than max_message() is
  // Errc::message_too_large and nothing is sent. std::logic_error while a
  // try_reserve() slot is not committed.
  std::size_t try_send_batch(std::span<const std::span<const std::byte>> messages);
  // Sends all of `messages`, in order: as many as fit at once, waiting for
  // room as send() does when none is left. `sent` says how many went: all
  // of them with ok; with closed | timed_out (the _for and _until forms) |
  // interrupted, the first `sent`, and none of the rest. Sizes and a held
  // reservation as try_send_batch().
  QueueStatus send_batch(std::span<const std::span<const std::byte>> messages, std::size_t& sent) {
    return send_batch_until(messages, sent, std::nullopt);
  }
  template <class Rep, class Period>
  QueueStatus send_batch_for(std::span<const std::span<const std::byte>> messages,
                             std::size_t& sent, std::chrono::duration<Rep, Period> timeout) {
    return send_batch_until(messages, sent, detail::deadline_after(timeout));
  }
  QueueStatus send_batch_until(std::span<const std::span<const std::byte>> messages,
                               std::size_t& sent, platform::Deadline deadline);

  // --- receive into `out` (resized): ok | empty (try) | timed_out | closed |
  // interrupted (all but try) ---
  QueueStatus try_recv(std::string& out) { return recv_into(out, false, std::nullopt); }
  QueueStatus try_recv(std::vector<std::byte>& out) { return recv_into(out, false, std::nullopt); }
  QueueStatus recv(std::string& out) { return recv_into(out, true, std::nullopt); }
  QueueStatus recv(std::vector<std::byte>& out) { return recv_into(out, true, std::nullopt); }
  template <class Buffer, class Rep, class Period>
  QueueStatus recv_for(Buffer& out, std::chrono::duration<Rep, Period> timeout) {
    return recv_into_for(out, timeout);
  }
  // --- receive into a buffer of the caller's (Connection.recv_bytes_into):
  // the message goes to the start of `out`, its size to `length`. Same
  // outcomes. A message larger than `out` is Errc::message_too_large, and
  // stays: the next receive gets it. For fixed-size messages this is the
  // cheapest copying receive: one copy, no resize. ---
  QueueStatus try_recv(std::span<std::byte> out, std::size_t& length) {
    Into into{out, length};
    return recv_into(into, false, std::nullopt);
  }
  QueueStatus recv(std::span<std::byte> out, std::size_t& length) {
    Into into{out, length};
    return recv_into(into, true, std::nullopt);
  }
  template <class Rep, class Period>
  QueueStatus recv_for(std::span<std::byte> out, std::size_t& length,
                       std::chrono::duration<Rep, Period> timeout) {
    Into into{out, length};
    return recv_into_for(into, timeout);
  }
  // Receives up to `max` messages now, calling visit(std::span<const
  // std::byte>) on each in place, in order, then frees their slots at once;
  // returns how many. 0: none now (closed() says whether more may come). If
  // `visit` throws, the messages it returned from are received, and the one
  // it threw on stays for the next receive (as recv's, whose copy threw).
  // `visit` must not call this handle's receiving functions. A message
  // whose length is corrupted is Errc::corrupt, those before it received.
  template <class Visit>
  std::size_t try_recv_batch(std::size_t max, Visit&& visit);
  // Waits until a message can be received, as recv() does, then receives up
  // to `max` (>= 1, else std::invalid_argument) as try_recv_batch() does;
  // `taken` says how many. ok (taken >= 1) | closed | timed_out (the _for
  // and _until forms) | interrupted, with taken 0.
  template <class Visit>
  QueueStatus recv_batch(std::size_t max, std::size_t& taken, Visit&& visit) {
    return recv_batch_until(max, taken, std::nullopt, visit);
  }
  template <class Rep, class Period, class Visit>
  QueueStatus recv_batch_for(std::size_t max, std::size_t& taken,
                             std::chrono::duration<Rep, Period> timeout, Visit&& visit) {
    return recv_batch_until(max, taken, detail::deadline_after(timeout), visit);
  }
  template <class Visit>
  QueueStatus recv_batch_until(std::size_t max, std::size_t& taken, platform::Deadline deadline,
                               Visit&& visit);
  // True once a message can be received (or the peer is gone and recv would
  // return closed) within `timeout`; false at the timeout, or at once if it
  // would wait after interrupt().
  template <class Rep, class Period>
  bool poll(std::chrono::duration<Rep, Period> timeout) {
    const QueueStatus status = wait_readable(detail::deadline_after(timeout));
    return status == QueueStatus::ok || status == QueueStatus::closed;
  }

  // --- zero-copy: write in place then commit; read in place then release ---
  // The next slot to write (max_message() bytes), or an empty span if full
  // or closed() (try_send() then says which). std::logic_error if a reserved
  // slot is not committed yet.
  std::span<std::byte> try_reserve();
  // Publishes the reserved slot's first `length` bytes. std::logic_error
  // without a successful try_reserve(); Errc::closed if this end was closed
  // since (the slot is then given up); Errc::message_too_large, keeping the
  // reservation, if `length` > max_message().
  void commit(std::size_t length);
  // The next message in place, or nullopt if none now; the same message
  // again until release(), or a recv, which receives it (the span is then
  // invalid).
  std::optional<std::span<const std::byte>> try_peek();
  // Frees the message try_peek() returned; std::logic_error if none is held.
  void release();

  // No more sends from this end; the peer drains, then gets closed.
  void close() noexcept;
  // --- interrupt: cancel this handle's waits, from any thread or a signal handler ---
  //   std::thread reader([&] { while (p.recv(text) == QueueStatus::ok) use(text); });
  //   p.interrupt();  // reader's recv returns `interrupted`, asleep or not yet
  //   reader.join();
  // After interrupt(), a waiting call of this handle (send, recv,
  // send_batch, recv_batch, their *_for and *_until forms, poll) that finds
  // no room (no message) returns `interrupted` (poll: false) instead of
  // waiting: those asleep now, sending or receiving, wake and return at
  // once, and so does every later one until clear_interrupt(). Sticky, so
  // an interrupt just before a wait starts is not missed. An interrupted
  // call sent and took nothing (a send_batch: nothing after the `sent` it
  // reports). A call that needs no wait still succeeds, and try_send,
  // try_recv, try_reserve and try_peek never see the flag. Nothing is
  // closed: the peer sees no change, and its own waits go on (ours alone
  // are woken, as each ring direction has one sender and one receiver).
  // Async-signal-safe: lock-free atomics and FUTEX_WAKE; errno is kept. The
  // handle must outlive the call and not be moved during it: clear a signal
  // handler's pointer to it (InterruptWatch::set_hook()) before that.
  void interrupt() noexcept;
  // Waiting calls wait again. One asleep when it comes may or may not have
  // seen the interrupt; call it once the interrupted calls have returned.
  void clear_interrupt() noexcept;
  [[nodiscard]] bool interrupted() const noexcept;

  // True once this end or the peer's was closed: nothing more can be sent.
  [[nodiscard]] bool closed() const noexcept {
    return closed_here_.load(std::memory_order_relaxed) || peer_closed();
  }
  [[nodiscard]] int end() const noexcept { return end_; }
  [[nodiscard]] bool peer_alive() const;
  [[nodiscard]] std::uint32_t capacity() const noexcept { return slot_count_; }
  [[nodiscard]] std::uint32_t max_message() const noexcept { return max_message_; }
  [[nodiscard]] const Segment& segment() const noexcept { return segment_; }

 private:
  Pipe(Segment segment, int end);
  detail::QueueSlot& slot(int ring, std::uint64_t pos) const noexcept;
  std::byte* payload(int ring, std::uint64_t pos) const noexcept;
  enum class Wake { ready, timed_out, check_peer };
  [[nodiscard]] bool peer_closed() const noexcept;
  [[nodiscard]] bool peer_gone() const;
  [[nodiscard]] bool peer_gone_at_deadline();
  void check_size(std::size_t bytes) const;
  [[noreturn]] void throw_too_large(std::size_t bytes) const;
  [[noreturn]] void throw_bad_length(std::uint32_t length) const;
  QueueStatus wait_readable(platform::Deadline deadline);
  // Before a receive waits: Errc::corrupt if the sender has written past
  // our position; puts our published head right if it was overwritten.
  void check_recv_position();
  QueueStatus wait_writable(platform::Deadline deadline);
  Wake sleep_on(std::atomic<std::uint32_t>& word, std::atomic<std::uint32_t>& waiting,
                bool (Pipe::*ready)() const, platform::SpinBudget& budget,
                platform::Deadline deadline);
  [[nodiscard]] bool can_send() const;        // throws corrupt
  [[nodiscard]] bool send_wait_over() const;  // wait_writable()'s ready
  [[nodiscard]] bool refresh_head() const;    // can_send() once the cached head says full
  [[nodiscard]] bool can_recv() const noexcept;
  [[nodiscard]] bool recv_wait_over() const noexcept;  // wait_readable()'s ready
  // Whether the message at `pos` of the incoming ring is committed, and its
  // length (Errc::corrupt if past max_message): try_recv_batch()'s. The same
  // as can_recv() and ready_length() at recv_pos_, which stay written apart:
  // through these, peek_next() and recv_into() compiled differently, and
  // that path is sensitive to code placement (see peek_next()).
  [[nodiscard]] bool ready_at(std::uint64_t pos) const noexcept;
  std::uint32_t length_at(std::uint64_t pos) const;
  std::uint32_t ready_length() const;
  // Slots this end may still write before the cached head says full.
  [[nodiscard]] std::uint64_t free_slots() const noexcept;
  void finish_send(std::uint32_t length) noexcept;
  // try_send_batch() after its size checks.
  std::size_t send_run(std::span<const std::span<const std::byte>> messages);
  // A batch's messages before its last: published with no look at the peer.
  void finish_send_quietly(std::uint32_t length) noexcept;
  // Before a send writes its slot: the slot kSlotPrefetchAhead positions on,
  // exclusive if it is known free (detail/slot_prefetch.hpp).
  void prefetch_ahead() const noexcept;
  // try_send() with no room: full, closed (this end closed), or throws (a
  // reservation is held).
  QueueStatus no_room() const;
  // Room for sends again after a reservation, unless close() ran meanwhile.
  void unblock_sends() noexcept;
  [[noreturn]] static void throw_release_without_peek();
  std::optional<std::span<const std::byte>> peek_next();
  void release_next() noexcept;
  void release_run(std::uint64_t count) noexcept;  // the next `count` messages at once
  static void wake_peer(std::atomic<std::uint32_t>& word) noexcept;
  // A caller's buffer to receive into, and where the message's size goes.
  struct Into {
    std::span<std::byte> bytes;
    std::size_t& length;
  };
  // recv_into()'s copy of a message: a string or vector takes its size; an
  // Into must hold it (Errc::message_too_large otherwise, the message kept).
  template <class Buffer>
  static void store(Buffer& out, std::span<const std::byte> message);
  void store(Into& out, std::span<const std::byte> message) const;
  [[noreturn]] void throw_too_small(std::size_t bytes, std::size_t room) const;
  template <class Buffer>
  QueueStatus recv_into(Buffer& out, bool wait, platform::Deadline deadline);
  template <class Buffer, class Rep, class Period>
  QueueStatus recv_into_for(Buffer& out, std::chrono::duration<Rep, Period> timeout) {
    const QueueStatus status = recv_into(out, false, std::nullopt);
    return status == QueueStatus::empty ? recv_into(out, true, detail::deadline_after(timeout))
                                        : status;
  }

  Segment segment_;
  detail::PipeHead* head_ = nullptr;
  std::byte* rings_[2] = {nullptr, nullptr};
  int end_ = 0;
  std::uint64_t my_word_ = 0;   // our packed identity in ends[end_].who
  std::uint64_t send_pos_ = 0;  // next position in ring end_
  // The consumer's head of ring end_ as last read: slots below it are free.
  mutable std::uint64_t head_cache_ = 0;
  // Whether this handle has published a message (sent_) and a release
  // (released_) yet: the first of each is seq_cst (see finish_send()).
  bool sent_ = false;
  bool released_ = false;
  // Why this handle refuses sends (see send_slots_): closed_here_ once
  // close() ran, on any thread; reserved_ while a try_reserve() slot is not
  // committed (the sending thread's own).
  std::atomic<bool> closed_here_{false};
  bool reserved_ = false;
  // Set by interrupt(), cleared by clear_interrupt(), on any thread (or in a
  // signal handler); read by this handle's waits. Not shared: the handle's own.
  std::atomic<bool> interrupted_{false};
  std::uint64_t recv_pos_ = 0;  // next position in ring 1 - end_
  // Validated copies of the immutable head.
  std::uint32_t slot_count_ = 0;
  std::uint32_t max_message_ = 0;
  std::uint64_t slot_size_ = 0;
  // slot_count_, or 0 while reserved_ or closed_here_: the sending path's
  // room check then fails and its slow path, no_room(), says why. No test of
  // its own on that path, which is sensitive to every instruction (see
  // try_peek()): a byte tested there made pipe.pingpong_spin's p50 about
  // 198 ns against 164 and the stream 9% slower, interleaved. Atomic because
  // close() may run on another thread than the sender's; its relaxed load is
  // the plain load it was.
  std::atomic<std::uint32_t> send_slots_{0};
  // recv_pos_ + 1 of the message try_peek() returned; release() checks it,
  // and a recv, which moves recv_pos_, makes it stale.
  std::uint64_t peeked_at_ = 0;
  // When a wait that reaches its deadline may next look whether the peer is
  // gone (steady-clock ticks): at most once per sync::kDeadOwnerCheck, so
  // that a loop of poll(0) does not read /proc every time.
  // The peer's packed identity once found dead (0: none): the same word in
  // ends[1 - end_].who is dead without a look; a new holder's is not.
  // Both atomic (relaxed: hints, no data rests on them), as the sending and
  // the receiving thread may both wait at once.
  std::atomic<std::int64_t> next_peer_look_{0};
  mutable std::atomic<std::uint64_t> dead_peer_{0};
  // How long this handle's sends and receives spin before they sleep
  // (platform::SpinBudget).
  platform::SpinBudget send_spin_;
  platform::SpinBudget recv_spin_;
};

// --- The sending fast path, inline: a message costs a few tens of
// nanoseconds, and calls into the library for each step were a good part of
// that (Pipe one way, queue.throughput: 21-22 -> 25-28 M msgs/s, interleaved
// rounds). The receiving side's try_peek() and release() stay calls (see
// there); the slow and cold parts (waiting, errors, wake-ups) are in pipe.cpp.

inline detail::QueueSlot& Pipe::slot(int ring, std::uint64_t pos) const noexcept {
  return detail::slot_header(rings_[ring] + (pos & (slot_count_ - 1)) * slot_size_);
}

inline std::byte* Pipe::payload(int ring, std::uint64_t pos) const noexcept {
  return rings_[ring] + (pos & (slot_count_ - 1)) * slot_size_ + detail::kQueueSlotHeader;
}

inline bool Pipe::peer_closed() const noexcept {
  return head_->ends[1 - end_].closed.load(std::memory_order_acquire) != 0;
}

inline void Pipe::check_size(std::size_t bytes) const {
  if (bytes > max_message_) throw_too_large(bytes);
}

inline bool Pipe::can_send() const {
  return send_pos_ - head_cache_ < send_slots_.load(std::memory_order_relaxed) || refresh_head();
}

inline std::uint64_t Pipe::free_slots() const noexcept {
  const std::uint64_t limit = send_slots_.load(std::memory_order_relaxed);  // as can_send()
  const std::uint64_t used = send_pos_ - head_cache_;
  return used < limit ? limit - used : 0;
}

inline bool Pipe::ready_at(std::uint64_t pos) const noexcept {
  // acquire pairs with the producer's commit: the payload is written.
  return slot(1 - end_, pos).seq.load(std::memory_order_acquire) == pos + 1;
}

inline bool Pipe::can_recv() const noexcept {
  // acquire pairs with the producer's commit: the payload is written.
  return slot(1 - end_, recv_pos_).seq.load(std::memory_order_acquire) == recv_pos_ + 1;
}

inline void Pipe::finish_send(std::uint32_t length) noexcept {
  detail::QueueSlot& s = slot(end_, send_pos_);
  s.length.store(length, std::memory_order_relaxed);
  // [S1] release: payload and length before the consumer sees the slot ready.
  // Then [S2], the consumer_waiting load, must not come before it (Dekker with
  // the consumer's [R1] in sleep_on()): light, only the compiler is kept from
  // reordering them and the consumer's remote_fence() does the rest; else
  // both are seq_cst.
  detail::SpscControl& control = head_->control[end_];
  // The first message of this handle is seq_cst, light or not: a consumer
  // that went to sleep before we raised ends[end_].light (so without a
  // remote_fence()) is seen by it.
  const bool light = platform::light_fences() && sent_;
  sent_ = true;
  const bool waiter =
      platform::publish_then_look(s.seq, send_pos_ + 1, control.consumer_waiting, light);  // [S2]
  ++send_pos_;
  control.tail.store(send_pos_, std::memory_order_relaxed);
  if (waiter) wake_peer(control.data_seq);
}

inline void Pipe::finish_send_quietly(std::uint32_t length) noexcept {
  detail::QueueSlot& s = slot(end_, send_pos_);
  s.length.store(length, std::memory_order_relaxed);
  // [S3] release, as [S1], and no look at consumer_waiting: the batch's last
  // message, after this in program order, looks. A consumer that sleeps
  // re-checks the slot of its own position, which may be this one: whatever
  // makes [S1]'s store visible before [S2]'s load (its seq_cst store, or the
  // consumer's remote_fence()) drains the stores before it too.
  s.seq.store(send_pos_ + 1, std::memory_order_release);
  ++send_pos_;
  // For a process that takes this end over: it skips at most one committed
  // message past tail (see the constructor).
  head_->control[end_].tail.store(send_pos_, std::memory_order_relaxed);
}

inline void Pipe::prefetch_ahead() const noexcept {
  // The slot of position p last held p - slot_count_: free once the
  // receiver's head is past that, which the head as last read (never ahead
  // of the true one) may already tell. The two lines taken may hold the
  // slots after `ahead` too (packed on 16 bytes), so those must be free as
  // well, or the prefetch takes a line from under the receiver: with
  // `ahead` alone checked, the one-way stream (queue.throughput) ran 29-41
  // M msgs/s, with this check 48-61 (the plain prefetch: 31-37).
  const std::uint64_t ahead = send_pos_ + detail::kSlotPrefetchAhead;
  const std::uint64_t last = ahead + 2 * detail::kCacheLine / detail::kPipeSlotAlign;
  if (last - head_cache_ < slot_count_) {
    detail::prefetch_free_slot(slot(end_, ahead));
  } else {
    detail::prefetch_slot_for_write(slot(end_, ahead));
  }
}

inline QueueStatus Pipe::try_send(std::span<const std::byte> message) {
  check_size(message.size());
  if (peer_closed()) return QueueStatus::closed;
  if (!can_send()) return no_room();
  prefetch_ahead();
  detail::copy_into_slot(payload(end_, send_pos_), message);
  finish_send(static_cast<std::uint32_t>(message.size()));
  return QueueStatus::ok;
}

inline std::size_t Pipe::try_send_batch(std::span<const std::span<const std::byte>> messages) {
  for (const auto& m : messages) check_size(m.size());
  return send_run(messages);
}

inline std::size_t Pipe::send_run(std::span<const std::span<const std::byte>> messages) {
  if (messages.empty() || peer_closed()) return 0;
  std::uint64_t room = free_slots();
  // Not room for all: the consumer's head may have moved since we cached it.
  if (room < messages.size() && refresh_head()) room = free_slots();
  if (room == 0) {
    (void)no_room();  // throws while a reservation is held
    return 0;
  }
  const std::size_t count =
      room < messages.size() ? static_cast<std::size_t>(room) : messages.size();
  // The run's slots are free (room said so): all exclusive before the first store.
  for (std::size_t i = 0; i < count; ++i) detail::prefetch_free_slot(slot(end_, send_pos_ + i));
  for (std::size_t i = 0; i + 1 < count; ++i) {
    detail::copy_into_slot(payload(end_, send_pos_), messages[i]);
    finish_send_quietly(static_cast<std::uint32_t>(messages[i].size()));
  }
  detail::copy_into_slot(payload(end_, send_pos_), messages[count - 1]);
  finish_send(static_cast<std::uint32_t>(messages[count - 1].size()));
  return count;
}

inline std::uint32_t Pipe::length_at(std::uint64_t pos) const {
  // relaxed: ordered after ready_at()'s acquire load of seq.
  const std::uint32_t length = slot(1 - end_, pos).length.load(std::memory_order_relaxed);
  if (length > max_message_) throw_bad_length(length);
  return length;
}

inline std::uint32_t Pipe::ready_length() const {
  // relaxed: ordered after can_recv()'s acquire load of seq.
  const std::uint32_t length = slot(1 - end_, recv_pos_).length.load(std::memory_order_relaxed);
  if (length > max_message_) throw_bad_length(length);
  return length;
}

// The receiving side stays a call (noinline), on purpose. Inlined into the
// caller's loop, an empty try_recv() became a few instructions, the receiver
// looked at the slot more often and took its line away from a sender still
// writing it: pipe.pingpong_spin's p50 went from about 170 to 190 ns (three
// interleaved rounds), for no more throughput than inlining the sender alone
// gives. The ping-pong is that sensitive to code placement: the same two
// functions compiled in pipe.cpp instead measured 215 ns against 185.
// The public try_peek() and release() add the held-message bookkeeping around
// them; recv calls these directly (it takes a held message, see try_peek()).
[[gnu::noinline]] inline std::optional<std::span<const std::byte>> Pipe::peek_next() {
  if (!can_recv()) return std::nullopt;
  return std::span<const std::byte>(payload(1 - end_, recv_pos_), ready_length());
}

[[gnu::always_inline]] inline void Pipe::release_run(std::uint64_t count) noexcept {
  const int ring = 1 - end_;
  recv_pos_ += count;
  detail::SpscControl& control = head_->control[ring];
  // [R2] release: our reading of the slot is done before the producer reuses
  // it; then the producer_waiting load, kept after it as in finish_send()
  // (Dekker with the producer's [R1]). On our own line: the slot itself is
  // left alone, so it is not pulled back here.
  const bool light = platform::light_fences() && released_;  // as in finish_send()
  released_ = true;
  if (platform::publish_then_look(control.head, recv_pos_, control.producer_waiting, light)) {
    wake_peer(control.space_seq);
  }
}

[[gnu::noinline]] inline void Pipe::release_next() noexcept { release_run(1); }

inline std::optional<std::span<const std::byte>> Pipe::try_peek() {
  auto message = peek_next();
  if (message) peeked_at_ = recv_pos_ + 1;
  return message;
}

inline void Pipe::release() {
  if (peeked_at_ != recv_pos_ + 1) throw_release_without_peek();
  release_next();
}

template <class Visit>
std::size_t Pipe::try_recv_batch(std::size_t max, Visit&& visit) {
  std::size_t taken = 0;
  // The slots of the messages visited are freed with one publish of our
  // head, however the loop ends (a throw from visit, or a corrupt length).
  struct ReleaseOnExit {
    Pipe& pipe;
    const std::size_t& taken;
    ~ReleaseOnExit() {
      if (taken != 0) pipe.release_run(taken);
    }
  } release_taken{*this, taken};
  while (taken < max && ready_at(recv_pos_ + taken)) {
    const std::uint64_t pos = recv_pos_ + taken;
    visit(std::span<const std::byte>(payload(1 - end_, pos), length_at(pos)));
    ++taken;
  }
  return taken;
}

template <class Visit>
QueueStatus Pipe::recv_batch_until(std::size_t max, std::size_t& taken, platform::Deadline deadline,
                                   Visit&& visit) {
  taken = 0;
  if (max == 0) throw std::invalid_argument("recv_batch: max must be at least 1");
  for (;;) {
    taken = try_recv_batch(max, visit);
    if (taken != 0) return QueueStatus::ok;
    const QueueStatus status = wait_readable(deadline);
    if (status != QueueStatus::ok) return status;
  }
}

template <class Buffer>
void Pipe::store(Buffer& out, std::span<const std::byte> message) {
  detail::resize_and_copy_from_slot(out, message.data(), message.size());
}

inline void Pipe::store(Into& out, std::span<const std::byte> message) const {
  if (message.size() > out.bytes.size()) throw_too_small(message.size(), out.bytes.size());
  detail::copy_from_slot(out.bytes.data(), message.data(), message.size());
  out.length = message.size();
}

template <class Buffer>
QueueStatus Pipe::recv_into(Buffer& out, bool wait, platform::Deadline deadline) {
  for (;;) {
    if (const auto message = peek_next()) {
      store(out, *message);  // if it throws, the message stays for the next receive
      release_next();
      return QueueStatus::ok;
    }
    if (!wait) {
      if (!peer_closed() && !closed_here_.load(std::memory_order_acquire)) {
        return QueueStatus::empty;
      }
      if (can_recv()) continue;  // it sent more before the close
      return QueueStatus::closed;
    }
    const QueueStatus status = wait_readable(deadline);
    if (status != QueueStatus::ok) return status;
  }
}

}  // namespace shmkit
