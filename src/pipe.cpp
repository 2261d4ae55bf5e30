#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>

#include "shmkit/detail/ring_config.hpp"
#include "shmkit/detail/slot_prefetch.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/platform/remote_fence.hpp"
#include "shmkit/platform/spin.hpp"
#include "shmkit/sync/mutex_state.hpp"

// Pipe (include/shmkit/pipe.hpp): two SPSC slot rings (detail/pipe_layout.hpp).

namespace shmkit {
namespace {

using detail::PipeHead;
using detail::QueueSlot;
using Clock = std::chrono::steady_clock;

using detail::pipe_slot_size_for;
using detail::round_up;
constexpr std::uint32_t kMaxSlots = detail::kQueueMaxSlots;
constexpr std::uint32_t kMaxMessage = detail::kQueueMaxMessage;

// A waiter that cannot fence a light peer (remote_fence() refused) sleeps in
// steps this long and looks between them.
constexpr auto kUnfencedStep = std::chrono::milliseconds(1);

// Takes end `e` for us if it is free or its holder died. Cases for the CAS:
// it wins (the end is ours), or another process took the end first.
bool take_end(PipeHead& head, int e, std::uint64_t me) {
  std::atomic<std::uint64_t>& who = head.ends[e].who;
  std::uint64_t current = who.load(std::memory_order_acquire);
  if (current != 0 && is_alive(ProcessIdentity::unpack(current))) return false;
  // acq_rel: the dead holder's positions are visible to us; ours to a later one.
  return who.compare_exchange_strong(current, me, std::memory_order_acq_rel,
                                     std::memory_order_relaxed);
}

}  // namespace

Pipe Pipe::create(std::string_view name, const PipeConfig& config, const SegmentOptions& options) {
  const std::string what = "pipe '" + std::string(name) + "'";
  const std::uint32_t count = detail::ring_slot_count(what, config.capacity, config.max_message);
  const std::uint32_t max_message = config.max_message;
  const std::uint64_t slot_size = pipe_slot_size_for(max_message);
  // Both rings on a 128-byte boundary: a slot of two whole lines is then one
  // pair of the kind x86's adjacent-line prefetcher fetches together.
  const std::uint64_t first_ring = round_up(sizeof(PipeHead), 2 * detail::kCacheLine);
  const std::uint64_t ring_bytes = detail::ring_size(count, slot_size);
  const std::uint64_t bytes =
      detail::ring_data_size(what, first_ring, 2, count, max_message, slot_size);
  const std::uint64_t me = ProcessIdentity::self().pack();
  SegmentOptions segment_options = options;
  segment_options.kind = Kind::pipe;
  segment_options.type = TypeFingerprint::bytes();
  segment_options.initialize = [=](std::span<std::byte> data) {
    auto* head = ::new (data.data()) PipeHead{};
    head->slot_count = count;
    head->max_message = max_message;
    head->slot_size = slot_size;
    head->ring_offset[0] = first_ring;
    head->ring_offset[1] = first_ring + ring_bytes;
    for (int r = 0; r < 2; ++r) {
      for (std::uint32_t i = 0; i < count; ++i) {
        auto* s = ::new (data.data() + head->ring_offset[r] + i * head->slot_size) QueueSlot{};
        s->seq.store(i, std::memory_order_relaxed);
      }
    }
    head->ends[0].who.store(me, std::memory_order_relaxed);  // the creator holds end 0
  };
  return Pipe(Segment::create(name, bytes, segment_options), 0);
}

Pipe Pipe::open(std::string_view name, const SegmentOptions& options) {
  SegmentOptions segment_options = options;
  segment_options.kind = Kind::pipe;
  segment_options.type = TypeFingerprint::bytes();
  Segment segment = Segment::open(name, segment_options);
  if (segment.data().size() < sizeof(PipeHead)) {
    throw Error(Errc::corrupt, "pipe '" + std::string(name) + "': too small for a pipe head");
  }
  // The constructor validates the head before it takes an end (-1), so that
  // a pipe found corrupt does not keep an end held by us.
  return Pipe(std::move(segment), -1);
}

Pipe::Pipe(Segment segment, int end) : segment_(std::move(segment)), end_(end) {
  const std::span<std::byte> area = segment_.data();
  head_ = std::launder(reinterpret_cast<PipeHead*>(area.data()));  // NOLINT: mapped layout
  slot_count_ = head_->slot_count;
  send_slots_.store(slot_count_, std::memory_order_relaxed);
  max_message_ = head_->max_message;
  slot_size_ = head_->slot_size;
  const bool shape_ok = slot_count_ >= 2 && slot_count_ <= kMaxSlots &&
                        std::has_single_bit(slot_count_) && max_message_ != 0 &&
                        max_message_ <= kMaxMessage &&
                        slot_size_ == pipe_slot_size_for(max_message_);
  for (int r = 0; r < 2 && shape_ok; ++r) {
    const std::uint64_t offset = head_->ring_offset[r];
    if (offset < sizeof(PipeHead) || offset % detail::kCacheLine != 0 || offset > area.size() ||
        (area.size() - offset) / slot_size_ < slot_count_) {
      throw Error(Errc::corrupt, "pipe '" + segment_.name() + "': invalid ring offset");
    }
    rings_[r] = area.data() + offset;
  }
  if (!shape_ok) throw Error(Errc::corrupt, "pipe '" + segment_.name() + "': invalid pipe head");
  if (end_ < 0) {  // open(): take the free end, or one whose holder died
    const std::uint64_t me = ProcessIdentity::self().pack();
    for (const int e : {1, 0}) {
      if (take_end(*head_, e, me)) {
        end_ = e;
        break;
      }
    }
    if (end_ < 0) {
      throw Error(Errc::already_exists,
                  "pipe '" + segment_.name() + "': both ends are held by live processes");
    }
  }
  my_word_ = head_->ends[end_].who.load(std::memory_order_relaxed);
  head_->ends[end_].closed.store(0, std::memory_order_relaxed);
  // A holder killed asleep left its waiting flags up, and the peer would make
  // a wake-up call for each message (or release) until we first slept. We do
  // not sleep yet; only this end's holder writes them.
  head_->control[1 - end_].consumer_waiting.store(0, std::memory_order_relaxed);
  head_->control[end_].producer_waiting.store(0, std::memory_order_relaxed);
  // Before any message of ours. A peer already asleep may have read the old
  // holder's 0 and skipped its remote_fence(): our first message and first
  // release are seq_cst for it (finish_send(), release()).
  head_->ends[end_].light.store(platform::light_fences() ? 1 : 0, std::memory_order_seq_cst);
  // Resume where this end's previous holder stopped. As a producer it stored
  // its position after each commit, so it may lag by the one message it had
  // just committed: skip that one. As a consumer its published head is
  // exact: a message it was reading when it died is delivered again.
  send_pos_ = head_->control[end_].tail.load(std::memory_order_acquire);
  if (slot(end_, send_pos_).seq.load(std::memory_order_acquire) == send_pos_ + 1) ++send_pos_;
  head_cache_ = head_->control[end_].head.load(std::memory_order_acquire);
  recv_pos_ = head_->control[1 - end_].head.load(std::memory_order_acquire);
}

Pipe::Pipe(Pipe&& other) noexcept
    : segment_(std::move(other.segment_)),
      head_(std::exchange(other.head_, nullptr)),
      rings_{other.rings_[0], other.rings_[1]},
      end_(other.end_),
      my_word_(other.my_word_),
      send_pos_(other.send_pos_),
      head_cache_(other.head_cache_),
      sent_(other.sent_),
      released_(other.released_),
      closed_here_(other.closed_here_.load(std::memory_order_relaxed)),
      reserved_(other.reserved_),
      interrupted_(other.interrupted_.load(std::memory_order_relaxed)),
      recv_pos_(other.recv_pos_),
      slot_count_(other.slot_count_),
      max_message_(other.max_message_),
      slot_size_(other.slot_size_),
      send_slots_(other.send_slots_.load(std::memory_order_relaxed)),
      peeked_at_(other.peeked_at_),
      next_peer_look_(other.next_peer_look_.load(std::memory_order_relaxed)),
      dead_peer_(other.dead_peer_.load(std::memory_order_relaxed)),
      send_spin_(other.send_spin_),
      recv_spin_(other.recv_spin_) {}

Pipe& Pipe::operator=(Pipe&& other) noexcept {
  if (this != &other) {
    this->~Pipe();
    new (this) Pipe(std::move(other));
  }
  return *this;
}

Pipe::~Pipe() {
  if (head_ == nullptr) return;
  close();
  // Give the end back, unless another process already took it over.
  std::uint64_t expected = my_word_;
  head_->ends[end_].who.compare_exchange_strong(expected, 0, std::memory_order_release,
                                                std::memory_order_relaxed);
}

bool Pipe::peer_alive() const {
  const std::uint64_t who = head_->ends[1 - end_].who.load(std::memory_order_acquire);
  return who != 0 && is_alive(ProcessIdentity::unpack(who));
}

bool Pipe::peer_gone() const {
  if (peer_closed()) return true;
  // An end nobody holds yet (the peer has not opened) is not gone; a dead
  // holder is.
  const std::uint64_t who = head_->ends[1 - end_].who.load(std::memory_order_acquire);
  if (who == 0) return false;
  if (who == dead_peer_.load(std::memory_order_relaxed)) return true;
  if (is_alive(ProcessIdentity::unpack(who))) return false;
  dead_peer_.store(who, std::memory_order_relaxed);  // dead for good: no look again
  return true;
}

void Pipe::throw_too_large(std::size_t bytes) const {
  throw Error(Errc::message_too_large,
              "pipe '" + segment_.name() + "': a message of " + std::to_string(bytes) +
                  " bytes exceeds its max_message of " + std::to_string(max_message_));
}

void Pipe::throw_too_small(std::size_t bytes, std::size_t room) const {
  throw Error(Errc::message_too_large,
              "pipe '" + segment_.name() + "': a message of " + std::to_string(bytes) +
                  " bytes does not fit a buffer of " + std::to_string(room) +
                  " (it stays for the next receive)");
}

void Pipe::throw_bad_length(std::uint32_t length) const {
  throw Error(Errc::corrupt, "pipe '" + segment_.name() + "': a message length of " +
                                 std::to_string(length) + " exceeds max_message");
}

void Pipe::wake_peer(std::atomic<std::uint32_t>& word) noexcept {
  word.fetch_add(1, std::memory_order_release);
  platform::futex_wake(word, 1);
}

bool Pipe::refresh_head() const {
  // send_slots_ is 0 while reserved or closed: no room, ever.
  if (send_slots_.load(std::memory_order_relaxed) == 0) return false;
  // The cached head says full: read the consumer's. acquire pairs with its
  // store in release(): its reading of the slots below head is done. seq_cst
  // for the re-check in sleep_on() (Dekker with [R2] there).
  const std::uint64_t head = head_->control[end_].head.load(std::memory_order_seq_cst);
  const std::uint64_t used = send_pos_ - head;
  if (used > slot_count_) {  // ahead of us, or more than a ring behind
    throw Error(Errc::corrupt, "pipe '" + segment_.name() + "': the receiver's position " +
                                   std::to_string(head) + " is outside the ring (sender at " +
                                   std::to_string(send_pos_) + ")");
  }
  head_cache_ = head;
  return used < slot_count_;
}

std::span<std::byte> Pipe::try_reserve() {
  if (reserved_) {
    throw std::logic_error("pipe '" + segment_.name() +
                           "': try_reserve() while a reserved slot is not committed");
  }
  if (closed() || !can_send()) return {};
  prefetch_ahead();
  reserved_ = true;
  send_slots_.store(0, std::memory_order_relaxed);
  return {payload(end_, send_pos_), max_message_};
}

void Pipe::commit(std::size_t length) {
  if (!reserved_) {
    throw std::logic_error("pipe '" + segment_.name() +
                           "': commit() without a successful try_reserve()");
  }
  check_size(length);
  unblock_sends();
  if (closed_here_.load(std::memory_order_relaxed)) {
    throw Error(Errc::closed,
                "pipe '" + segment_.name() + "': this end was closed before commit()");
  }
  finish_send(static_cast<std::uint32_t>(length));
}

QueueStatus Pipe::no_room() const {
  if (reserved_) {
    throw std::logic_error("pipe '" + segment_.name() +
                           "': a send while a reserved slot is not committed");
  }
  return closed_here_.load(std::memory_order_relaxed) ? QueueStatus::closed : QueueStatus::full;
}

void Pipe::unblock_sends() noexcept {
  reserved_ = false;
  // seq_cst store, then seq_cst load; close() stores closed_here_ then 0
  // here, both seq_cst: either we see closed_here_ and store 0 ourselves, or
  // close()'s store of 0 comes after ours. Sends stay refused after close().
  send_slots_.store(slot_count_, std::memory_order_seq_cst);
  if (closed_here_.load(std::memory_order_seq_cst)) send_slots_.store(0, std::memory_order_relaxed);
}

void Pipe::throw_release_without_peek() {
  throw std::logic_error("Pipe::release() without a message from try_peek()");
}

QueueStatus Pipe::send_until(std::span<const std::byte> message, platform::Deadline deadline) {
  for (;;) {
    const QueueStatus status = try_send(message);
    if (status != QueueStatus::full) return status;
    const QueueStatus waited = wait_writable(deadline);
    if (waited != QueueStatus::ok) return waited;
  }
}

QueueStatus Pipe::send_batch_until(std::span<const std::span<const std::byte>> messages,
                                   std::size_t& sent, platform::Deadline deadline) {
  sent = 0;
  for (const auto& m : messages) check_size(m.size());  // once, not on every run
  while (sent < messages.size()) {
    const std::size_t n = send_run(messages.subspan(sent));
    if (n != 0) {
      sent += n;
      continue;
    }
    // No room, or the peer closed: wait_writable() waits for room or says why not.
    const QueueStatus status = wait_writable(deadline);
    if (status != QueueStatus::ok) return status;
  }
  return QueueStatus::ok;
}

Pipe::Wake Pipe::sleep_on(std::atomic<std::uint32_t>& word, std::atomic<std::uint32_t>& waiting,
                          bool (Pipe::*ready)() const, platform::SpinBudget& budget,
                          platform::Deadline deadline) {
  platform::ChannelSpin spin(budget);
  if (spin.run([&] { return (this->*ready)(); }, deadline)) return Wake::ready;
  // [R1] seq_cst, before the re-check: either the peer sees us waiting, or we
  // see its slot (see [S1]/[S2]) or its head ([R2]). A light peer uses no
  // fence of its own: ours, remote_fence(), stands for it. If the kernel
  // refuses it here, we sleep in short steps instead (never a lost wake-up,
  // at worst a late one).
  waiting.store(1, std::memory_order_seq_cst);
  const bool peer_light = head_->ends[1 - end_].light.load(std::memory_order_seq_cst) != 0;
  const bool fenced = !peer_light || platform::remote_fence();
  // The re-check may throw (a corrupted head): the flag goes down regardless.
  struct Lower {
    std::atomic<std::uint32_t>& flag;
    ~Lower() { flag.store(0, std::memory_order_relaxed); }
  } lower{waiting};
  // [I3] The value we sleep on, loaded before the re-check's [I4] (see
  // recv_wait_over()).
  const std::uint32_t seen = word.load(std::memory_order_seq_cst);
  // Sleeps until woken (false) or `until` (true). Unfenced, in steps of
  // kUnfencedStep, looking between them.
  const auto sleep_until = [&](Clock::time_point until) {
    for (;;) {
      const Clock::time_point step = fenced ? until : std::min(until, Clock::now() + kUnfencedStep);
      if (platform::futex_wait(word, seen, step) != platform::FutexWait::timed_out) return false;
      if (step == until) return true;
      if ((this->*ready)()) return false;
    }
  };
  Wake wake = Wake::ready;
  if (!(this->*ready)() && !peer_closed()) {
    const Clock::time_point now = Clock::now();
    const Clock::time_point check_at = now + sync::kDeadOwnerCheck;
    if (deadline && now >= *deadline) {
      wake = Wake::timed_out;
    } else if (deadline && *deadline <= check_at) {
      if (sleep_until(*deadline)) wake = Wake::timed_out;
    } else if (sleep_until(check_at)) {
      wake = Wake::check_peer;  // a whole interval of silence: is the peer alive?
    }
  }
  return wake;
}

void Pipe::check_recv_position() {
  const int ring = 1 - end_;
  // The sender writes the slot of position p + capacity only once our head
  // is past p, and our head is our own position: a message ahead of it
  // (seq past recv_pos_ + 1) means a shared word was overwritten (the head,
  // or the slot). Its message never turns ready: report it, never wait for
  // ever. acquire: as can_recv().
  const std::uint64_t seq = slot(ring, recv_pos_).seq.load(std::memory_order_acquire);
  if (static_cast<std::int64_t>(seq - (recv_pos_ + 1)) > 0) {
    throw Error(Errc::corrupt,
                "pipe '" + segment_.name() + "': the slot of the receiver's position " +
                    std::to_string(recv_pos_) + " holds a later message (sequence " +
                    std::to_string(seq) + "): the sender went past what it had not received");
  }
  // Only this end writes its head, always to recv_pos_: another value was
  // written by someone else. Behind, it makes the ring look full to the
  // sender while we wait for a message: both would wait for ever. Put it
  // right (seq_cst, then the waiting flag, as release_next()), and wake a
  // sender that went to sleep on it.
  detail::SpscControl& control = head_->control[ring];
  if (control.head.load(std::memory_order_relaxed) != recv_pos_ &&
      platform::publish_then_look(control.head, recv_pos_, control.producer_waiting, false)) {
    wake_peer(control.space_seq);
  }
}

QueueStatus Pipe::wait_readable(platform::Deadline deadline) {
  detail::SpscControl& control = head_->control[1 - end_];
  for (;;) {
    if (can_recv()) return QueueStatus::ok;
    check_recv_position();
    // Either end closed: the peer sends nothing more. acquire: pairs with
    // close()'s seq_cst store, before its wake-up.
    if (peer_closed() || closed_here_.load(std::memory_order_acquire)) {
      return can_recv() ? QueueStatus::ok : QueueStatus::closed;
    }
    if (interrupted_.load(std::memory_order_relaxed)) return QueueStatus::interrupted;
    const Wake wake = sleep_on(control.data_seq, control.consumer_waiting, &Pipe::recv_wait_over,
                               recv_spin_, deadline);
    if (wake == Wake::timed_out) {
      if (can_recv()) return QueueStatus::ok;
      if (!peer_gone_at_deadline()) return QueueStatus::timed_out;
      return can_recv() ? QueueStatus::ok : QueueStatus::closed;
    }
    if (wake == Wake::check_peer && !can_recv() && peer_gone()) {
      return can_recv() ? QueueStatus::ok : QueueStatus::closed;
    }
  }
}

QueueStatus Pipe::wait_writable(platform::Deadline deadline) {
  detail::SpscControl& control = head_->control[end_];
  for (;;) {
    // acquire: pairs with close()'s seq_cst store, before its wake-up.
    if (peer_closed() || closed_here_.load(std::memory_order_acquire)) return QueueStatus::closed;
    if (can_send()) return QueueStatus::ok;
    if (interrupted_.load(std::memory_order_relaxed)) return QueueStatus::interrupted;
    const Wake wake = sleep_on(control.space_seq, control.producer_waiting, &Pipe::send_wait_over,
                               send_spin_, deadline);
    if (wake == Wake::timed_out) {
      if (can_send()) return QueueStatus::ok;
      return peer_gone_at_deadline() ? QueueStatus::closed : QueueStatus::timed_out;
    }
    if (wake == Wake::check_peer && !can_send() && peer_gone()) return QueueStatus::closed;
  }
}

bool Pipe::recv_wait_over() const noexcept {
  // seq_cst: read after sleep_on()'s load of the word, which close() bumps
  // after it stores closed_here_ (as send_wait_over()). [I4] the same for
  // interrupted_: interrupt() stores it ([I1]) before it bumps the word
  // ([I2]), all seq_cst. If this load misses the flag, it comes before [I1]
  // in the single total order, so [I3] came before [I2] and read the word
  // from before the bump: the futex wait returns at once, or the bump's
  // wake-up ends it, and wait_readable() then sees the flag.
  return can_recv() || closed_here_.load(std::memory_order_seq_cst) ||
         interrupted_.load(std::memory_order_seq_cst);
}

bool Pipe::send_wait_over() const {
  // seq_cst: read after sleep_on()'s load of the word, which close() bumps
  // after it stores closed_here_; a close() in between moves the word. The
  // same for interrupted_ ([I4], see recv_wait_over()).
  return can_send() || closed_here_.load(std::memory_order_seq_cst) ||
         interrupted_.load(std::memory_order_seq_cst);
}

bool Pipe::peer_gone_at_deadline() {
  // A deadline shorter than the check interval never reaches sleep_on()'s
  // check_peer: without a look here, a caller looping on short timeouts
  // would wait forever on a dead peer. At most once per check interval.
  if (peer_closed()) return true;
  const std::uint64_t who = head_->ends[1 - end_].who.load(std::memory_order_acquire);
  if (who != 0 && who == dead_peer_.load(std::memory_order_relaxed)) return true;
  const Clock::time_point now = Clock::now();
  const std::int64_t ticks = now.time_since_epoch().count();
  if (ticks < next_peer_look_.load(std::memory_order_relaxed)) return false;
  next_peer_look_.store((now + sync::kDeadOwnerCheck).time_since_epoch().count(),
                        std::memory_order_relaxed);
  return peer_gone();
}

void Pipe::interrupt() noexcept {
  const int saved = errno;  // a signal handler's caller must find it as it was
  // [I1] seq_cst, before [I2]: see [I4] in recv_wait_over().
  interrupted_.store(true, std::memory_order_seq_cst);
  if (head_ == nullptr) {  // moved from: nothing waits on it
    errno = saved;
    return;
  }
  // [I2] Bump the two words this handle's waits sleep on, so that a waiter
  // whose [I4] missed the flag does not sleep on the value it loaded, then
  // wake it: recv sleeps on the incoming ring's data_seq, send on the
  // outgoing ring's space_seq. The peer sleeps on the other two, so it is
  // not disturbed. Two sleepers at most (one sending thread, one receiving).
  for (std::atomic<std::uint32_t>* word :
       {&head_->control[1 - end_].data_seq, &head_->control[end_].space_seq}) {
    word->fetch_add(1, std::memory_order_seq_cst);
    platform::futex_wake_all(*word);
  }
  errno = saved;
}

void Pipe::clear_interrupt() noexcept {
  // relaxed: a wait that starts after this call (happens after it) sees it
  // (coherence); one under way may or may not, as pipe.hpp says.
  interrupted_.store(false, std::memory_order_relaxed);
}

bool Pipe::interrupted() const noexcept { return interrupted_.load(std::memory_order_relaxed); }

void Pipe::close() noexcept {
  if (head_ == nullptr) return;
  closed_here_.store(true, std::memory_order_seq_cst);  // see unblock_sends()
  send_slots_.store(0, std::memory_order_seq_cst);
  head_->ends[end_].closed.store(1, std::memory_order_seq_cst);
  // Wake a peer asleep in recv (it sees closed) or in send.
  detail::SpscControl& out = head_->control[end_];
  out.data_seq.fetch_add(1, std::memory_order_release);
  platform::futex_wake_all(out.data_seq);
  detail::SpscControl& in = head_->control[1 - end_];
  in.space_seq.fetch_add(1, std::memory_order_release);
  platform::futex_wake_all(in.space_seq);
  // And a send or recv of ours asleep, if close() came from another thread:
  // it sees closed_here_ (wait_writable(), wait_readable()).
  out.space_seq.fetch_add(1, std::memory_order_release);
  platform::futex_wake_all(out.space_seq);
  in.data_seq.fetch_add(1, std::memory_order_release);
  platform::futex_wake_all(in.data_seq);
}

}  // namespace shmkit
