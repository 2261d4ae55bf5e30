#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <thread>

#include "shmkit/detail/ring_config.hpp"
#include "shmkit/detail/slot_prefetch.hpp"
#include "shmkit/platform/remote_fence.hpp"
#include "shmkit/platform/spin.hpp"
#include "shmkit/platform/thread_identity.hpp"
#include "shmkit/queue.hpp"
#include "shmkit/sync/mutex_state.hpp"

// ByteQueue (include/shmkit/queue.hpp): the MPMC slot ring of
// detail/queue_layout.hpp, its participant records and dead-peer recovery.

namespace shmkit {
namespace {

using detail::QueueHead;
using detail::QueueParticipant;
using detail::QueueSlot;
using Clock = std::chrono::steady_clock;

using detail::round_up;
using detail::slot_size_for;
constexpr std::uint32_t kMaxSlots = detail::kQueueMaxSlots;
constexpr std::uint32_t kMaxMessage = detail::kQueueMaxMessage;
constexpr std::uint32_t kRevoking = detail::kQueueLeaseRevoking;

// A role's lease word names a participant record: its index + 1.
constexpr std::uint32_t lease_of(std::uint32_t index) noexcept { return index + 1; }

// A revoker that cannot fence (remote_fence() refused), or a consumer that
// cannot fence a producer lease holder, waits in steps this long.
constexpr auto kUnfencedStep = std::chrono::milliseconds(1);

// Wake-ups that woke nobody between two clock reads of drop_dead_sleepers().
constexpr std::uint32_t kWokeNobodyPerLook = 16;

// Rounds of one pause that a revoker spins before it sleeps between looks.
constexpr std::uint32_t kRevokeSpinRounds = 64;

std::uint64_t slots_offset() { return detail::queue_slots_offset(); }

// Signed distance a - b between positions that may wrap.
std::int64_t distance(std::uint64_t a, std::uint64_t b) noexcept {
  return static_cast<std::int64_t>(a - b);
}

// Whether the process of the record's thread `who` still runs: a claim's
// lifetime (detail/queue_layout.hpp). A record whose process word is not
// written yet holds no claim; its thread stands for it.
bool process_alive(const QueueParticipant& p, std::uint64_t who) noexcept {
  const std::uint64_t process = p.process.load(std::memory_order_acquire);
  return is_alive(ProcessIdentity::unpack(process != 0 ? process : who));
}

bool covers(const QueueParticipant& p, std::uint64_t pos) noexcept {
  const std::uint64_t begin = p.pending_begin.load(std::memory_order_acquire);
  const std::uint64_t end = p.pending_end.load(std::memory_order_acquire);
  return distance(pos, begin) >= 0 && distance(end, pos) > 0;
}

// This thread's participant records, by queue head: a small direct cache so
// that push and pop find theirs without a scan. An entry is trusted only if
// the record still names this thread (the queue may be another one now).
struct CachedRecords {
  const QueueHead* head = nullptr;
  std::array<std::uint32_t, 2> index{kNone, kNone};
  // When this thread may next look for sleepers that died, and how many
  // wake-ups of its woke nobody since it last read the clock
  // (drop_dead_sleepers()).
  Clock::time_point next_sleeper_check{};
  std::uint32_t woke_nobody = 0;
  static constexpr std::uint32_t kNone = 0xffffffffu;
};
thread_local std::array<CachedRecords, 8> t_records{};
thread_local std::size_t t_next_record = 0;

// The entry for `head`, or nullptr: one entry per head at most.
CachedRecords* cached_records(const QueueHead* head) noexcept {
  for (auto& entry : t_records) {
    if (entry.head == head) return &entry;
  }
  return nullptr;
}

CachedRecords& cache_entry(const QueueHead* head) noexcept {
  if (CachedRecords* found = cached_records(head)) return *found;
  CachedRecords& entry = t_records[t_next_record++ % t_records.size()];
  entry = CachedRecords{head, {CachedRecords::kNone, CachedRecords::kNone}, {}, 0};
  return entry;
}

}  // namespace

// ---------------------------------------------------------------- lifecycle

ByteQueue ByteQueue::create(std::string_view name, const QueueConfig& config,
                            const SegmentOptions& options) {
  const std::string what = "queue '" + std::string(name) + "'";
  const std::uint32_t count = detail::ring_slot_count(what, config.capacity, config.max_message);
  const std::uint32_t max_message = config.max_message;
  const std::uint64_t bytes = detail::ring_data_size(what, slots_offset(), 1, count, max_message,
                                                     slot_size_for(max_message));
  SegmentOptions segment_options = options;
  segment_options.kind = Kind::queue;
  segment_options.initialize = [count, max_message](std::span<std::byte> data) {
    auto* head = ::new (data.data()) QueueHead{};
    head->slot_count = count;
    head->max_message = max_message;
    head->slot_size = slot_size_for(max_message);
    head->slots_offset = slots_offset();
    for (std::uint32_t i = 0; i < count; ++i) {
      auto* s = ::new (data.data() + head->slots_offset + i * head->slot_size) QueueSlot{};
      s->seq.store(i, std::memory_order_relaxed);  // free for the producer of position i
    }
  };
  return ByteQueue(Segment::create(name, bytes, segment_options));
}

ByteQueue ByteQueue::open(std::string_view name, SegmentOptions options) {
  options.kind = Kind::queue;
  return ByteQueue(Segment::open(name, options));
}

ByteQueue ByteQueue::open_or_create(std::string_view name, const QueueConfig& config,
                                    const SegmentOptions& options) {
  // Exclusive create first; if it exists, open it (with its own config).
  try {
    return create(name, config, options);
  } catch (const Error& e) {
    if (e.code() != Errc::already_exists) throw;
  }
  return open(name, options);
}

ByteQueue::ByteQueue(Segment segment) : segment_(std::move(segment)) {
  const std::span<std::byte> area = segment_.data();
  auto fail = [this](const std::string& what) {
    throw Error(Errc::corrupt, "queue '" + segment_.name() + "': " + what);
  };
  if (area.size() < sizeof(QueueHead)) fail("its data area is smaller than a queue head");
  head_ = std::launder(reinterpret_cast<QueueHead*>(area.data()));  // NOLINT: mapped layout
  // Copy and check the immutable head once; later reads use the copies.
  slot_count_ = head_->slot_count;
  max_message_ = head_->max_message;
  slot_size_ = head_->slot_size;
  const std::uint64_t offset = head_->slots_offset;
  if (slot_count_ < 2 || slot_count_ > kMaxSlots || !std::has_single_bit(slot_count_) ||
      max_message_ == 0 || max_message_ > kMaxMessage ||
      slot_size_ != slot_size_for(max_message_) || offset < sizeof(QueueHead) ||
      offset % detail::kCacheLine != 0 || offset > area.size() ||
      (area.size() - offset) / slot_size_ < slot_count_) {
    fail("invalid queue head");
  }
  slots_ = area.data() + offset;
}

ByteQueue::ByteQueue(ByteQueue&& other) noexcept
    : segment_(std::move(other.segment_)),
      head_(std::exchange(other.head_, nullptr)),
      slots_(other.slots_),
      slot_count_(other.slot_count_),
      max_message_(other.max_message_),
      slot_size_(other.slot_size_),
      interrupted_(other.interrupted_.load(std::memory_order_relaxed)),
      spin_budget_{other.spin_budget_[0], other.spin_budget_[1]} {}

ByteQueue& ByteQueue::operator=(ByteQueue&& other) noexcept {
  if (this != &other) {
    leave();
    segment_ = std::move(other.segment_);
    head_ = std::exchange(other.head_, nullptr);
    slots_ = other.slots_;
    slot_count_ = other.slot_count_;
    max_message_ = other.max_message_;
    slot_size_ = other.slot_size_;
    // relaxed: a handle is not moved while another thread uses it.
    interrupted_.store(other.interrupted_.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
    spin_budget_[0] = other.spin_budget_[0];
    spin_budget_[1] = other.spin_budget_[1];
  }
  return *this;
}

ByteQueue::~ByteQueue() { leave(); }

void ByteQueue::leave() noexcept {
  if (head_ == nullptr) return;
  // Release this thread's records (others' go when their threads end).
  CachedRecords& entry = cache_entry(head_);
  std::uint64_t me = 0;
  try {
    me = platform::this_thread_word();
  } catch (...) {
    return;
  }
  for (const Role role : {Role::producer, Role::consumer}) {
    for (std::uint32_t i = 0; i < detail::kQueueMaxParticipants; ++i) {
      QueueParticipant& p = records(role)[i];
      if (p.who.load(std::memory_order_relaxed) != me) continue;
      if (p.pending_begin.load(std::memory_order_relaxed) !=
          p.pending_end.load(std::memory_order_relaxed)) {
        continue;  // holds a slot: leave it for recovery
      }
      // Our lease goes first, so that it never names a record someone else
      // takes. seq_cst: after our last index store.
      for (std::uint32_t held : {lease_of(i), lease_of(i) | kRevoking}) {
        lease(role).compare_exchange_strong(held, 0, std::memory_order_seq_cst,
                                            std::memory_order_relaxed);
      }
      std::uint64_t expected = me;
      p.who.compare_exchange_strong(expected, 0, std::memory_order_release,
                                    std::memory_order_relaxed);
    }
  }
  entry = CachedRecords{};
}

// ---------------------------------------------------------------- records

void ByteQueue::announce_light(Role role) noexcept {
  if (!platform::light_fences()) return;
  // Before our first unfenced hand-over. A waiter of the other role that
  // reads the flag as 0 does not fence for us; it read it before our seq_cst
  // read-modify-write, after its seq_cst [W1] fetch_or, so in the single
  // total order that fetch_or comes before our RMW and before the seq_cst
  // load of its bits below, which therefore sees it; our later (relaxed)
  // loads of the bits cannot read anything older (read-read coherence). The
  // RMW even when the flag is set already: it is what orders the load.
  light_flag(role).fetch_or(1, std::memory_order_seq_cst);
  (void)waiting(other(role)).load(std::memory_order_seq_cst);
}

inline QueueParticipant& ByteQueue::participant(Role role) {
  // The hit path, on every claim, makes no call: nothing to save around one.
  // A thread word still 0 is not read yet (or was reset by fork()).
  const std::uint64_t me = platform::cached_this_thread_word();
  const CachedRecords* entry = cached_records(head_);
  if (entry != nullptr && me != 0) {
    const std::uint32_t i = entry->index[static_cast<std::size_t>(role)];
    if (i != CachedRecords::kNone && records(role)[i].who.load(std::memory_order_relaxed) == me) {
      return records(role)[i];
    }
  }
  return register_participant(role, platform::this_thread_word());
}

QueueParticipant& ByteQueue::register_participant(Role role, std::uint64_t me) {
  const auto r = static_cast<std::size_t>(role);
  QueueParticipant* records = this->records(role);
  CachedRecords& entry = cache_entry(head_);
  auto found = [&](std::uint32_t i) -> QueueParticipant& {
    entry.index[r] = i;
    return records[i];
  };
  // A record just claimed: the role's light flag is raised and its lease
  // settled before its first use (the flag first: it cannot throw, and a
  // record found again later is not announced again).
  auto take = [&](std::uint32_t i) -> QueueParticipant& {
    // A dead thread's record may still have its waiting bit: we are not
    // asleep. (A waker may clear it as well; see drop_dead_sleepers().)
    waiting(role).fetch_and(~(std::uint64_t{1} << i), std::memory_order_relaxed);
    announce_light(role);
    settle_lease(role, i);
    return found(i);
  };
  const std::uint32_t n = detail::kQueueMaxParticipants;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (records[i].who.load(std::memory_order_relaxed) == me) return found(i);
  }
  // Read before any claim, as it may throw. Stored after the CAS on `who`
  // and before our first claim: the claim's index move releases it.
  const std::uint64_t process = ProcessIdentity::self().pack();
  auto claimed = [&](std::uint32_t i) -> QueueParticipant& {
    records[i].pending_begin.store(0, std::memory_order_relaxed);
    records[i].pending_end.store(0, std::memory_order_relaxed);
    records[i].process.store(process, std::memory_order_relaxed);
    return take(i);
  };
  // Claim a free record, else one of a dead thread that holds no slot. Cases
  // for each CAS: it wins (ours), or another thread claimed it (next one).
  // acquire/release: the record's pending fields belong to whoever won;
  // seq_cst: before settle_lease()'s [L1] load (see there).
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint64_t expected = 0;
    if (records[i].who.compare_exchange_strong(expected, me, std::memory_order_seq_cst,
                                               std::memory_order_relaxed)) {
      return claimed(i);
    }
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint64_t who = records[i].who.load(std::memory_order_acquire);
    if (who == 0 || is_alive(ProcessIdentity::unpack(who))) continue;
    const std::uint64_t begin = records[i].pending_begin.load(std::memory_order_acquire);
    std::uint64_t end = records[i].pending_end.load(std::memory_order_acquire);
    // A claim of a live process is finished by whichever of its threads holds
    // the loan now: it clears the range (release, acquired above) and then
    // touches the record no more. Until then the record stays its: taking it
    // over between that thread's commit and its clear would let the clear
    // wipe our claim.
    if (begin != end && process_alive(records[i], who)) continue;
    // A real claim covers at most slot_count_ positions; a longer range is
    // garbage (a corrupted record): not worth scanning, treat it as finished.
    bool finished = true;
    if (distance(end, begin) > static_cast<std::int64_t>(slot_count_)) end = begin;
    for (std::uint64_t p = begin; distance(end, p) > 0 && finished; ++p) {
      const std::uint64_t seq = slot(p).seq.load(std::memory_order_acquire);
      // A dead producer's slot is finished once committed or tombstoned; a
      // dead consumer's once released.
      finished = role == Role::producer ? seq != p : seq != p + 1;
    }
    if (!finished) continue;
    if (records[i].who.compare_exchange_strong(who, me, std::memory_order_seq_cst,
                                               std::memory_order_relaxed)) {
      return claimed(i);
    }
  }
  throw Error(Errc::full, "queue '" + segment_.name() + "': " + std::to_string(n) + " live " +
                              (role == Role::producer ? "producer" : "consumer") +
                              " threads already");
}

// ---------------------------------------------------------------- leases

void ByteQueue::settle_lease(Role role, std::uint32_t index) {
  std::atomic<std::uint32_t>& word = lease(role);
  // [L1] seq_cst, after our record's seq_cst claim: with [L2] this is
  // Dekker's pattern: either a thread taking the lease sees our record, or
  // we see its lease and revoke it.
  const std::uint32_t seen = word.load(std::memory_order_seq_cst);
  if (seen != 0) revoke_lease(role, seen);
  // A holder relies on revokers' remote_fence() reaching it: only a
  // registered process may hold a lease.
  if (!platform::light_fences()) return;
  const std::uint32_t mine = lease_of(index);
  std::uint32_t expected = 0;
  if (!word.compare_exchange_strong(expected, mine, std::memory_order_seq_cst,
                                    std::memory_order_relaxed)) {
    return;  // another thread took it meanwhile: it will see our record
  }
  // [L2] Alone in the role? Else give the lease back (it was never used).
  const QueueParticipant* rs = records(role);
  for (std::uint32_t i = 0; i < detail::kQueueMaxParticipants; ++i) {
    if (i == index) continue;
    const std::uint64_t who = rs[i].who.load(std::memory_order_seq_cst);
    if (who != 0 && is_alive(ProcessIdentity::unpack(who))) {
      expected = mine;
      word.compare_exchange_strong(expected, 0, std::memory_order_seq_cst,
                                   std::memory_order_relaxed);
      return;
    }
  }
}

void ByteQueue::revoke_lease(Role role, std::uint32_t seen) {
  std::atomic<std::uint32_t>& word = lease(role);
  // Mark it. Cases for the CAS: it wins; or the word changed (another
  // revoker marked or cleared it, or its holder acknowledged or left): the
  // failed CAS reloads `seen` and we look again.
  while (seen != 0 && (seen & kRevoking) == 0) {
    if (word.compare_exchange_weak(seen, seen | kRevoking, std::memory_order_seq_cst,
                                   std::memory_order_relaxed)) {
      seen |= kRevoking;
    }
  }
  if (seen == 0) return;
  const std::uint32_t record = (seen & ~kRevoking) - 1;
  if (record < detail::kQueueMaxParticipants) {
    const QueueParticipant& holder = records(role)[record];
    const std::uint64_t who = holder.who.load(std::memory_order_acquire);
    // From here the holder's lease loads see the mark, or the claim it
    // recorded before its last one is visible to us (layout comment).
    const bool fenced = platform::remote_fence();
    const std::atomic<std::uint64_t>& moved = index(role);
    const std::uint64_t end = holder.pending_end.load(std::memory_order_relaxed);
    for (std::uint32_t round = 0;; ++round) {
      if (word.load(std::memory_order_seq_cst) != seen) return;  // finished by another
      // Its claim in flight, if any, has stored the index (only the holder
      // moves it now): the index reached the claim's end. acquire: that
      // store (release) is then visible to us, and to whoever sees our
      // clear. An end more than a ring ahead is no real claim (a corrupted
      // record): nothing to wait for.
      const std::int64_t ahead = distance(end, moved.load(std::memory_order_acquire));
      if (fenced && (ahead <= 0 || ahead > static_cast<std::int64_t>(slot_count_))) break;
      if (who == 0 || holder.who.load(std::memory_order_acquire) != who) break;  // it left
      if (round < kRevokeSpinRounds) {
        platform::cpu_relax();
        continue;
      }
      // Past the spin (the holder is off its CPU, or we cannot fence it: then
      // only its acknowledgement, holds_lease(), or its end stops the wait),
      // look at /proc once per sleep, not per pause.
      if (!is_alive(ProcessIdentity::unpack(who))) break;  // it died: it stores nothing more
      std::this_thread::sleep_for(fenced ? std::chrono::microseconds(50) : kUnfencedStep);
    }
  }
  // Index out of range: a corrupted word names no holder.
  word.compare_exchange_strong(seen, 0, std::memory_order_seq_cst, std::memory_order_relaxed);
}

// Inline in try_claim(), on every claim; the acknowledgement of a
// revocation stays out of line. As a call it cost about 20 instructions a
// claim (callgrind).
inline bool ByteQueue::holds_lease(Role role, const QueueParticipant& me) noexcept {
  const auto mine = lease_of(static_cast<std::uint32_t>(&me - records(role)));
  // Only a compiler barrier keeps the claim recorded before this load: a
  // revoker's remote_fence() is the CPU fence (layout comment).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::atomic<std::uint32_t>& word = lease(role);
  const std::uint32_t seen = word.load(std::memory_order_relaxed);
  if (seen == mine) [[likely]] {
    return true;
  }
  if (seen == (mine | kRevoking)) acknowledge_revocation(word, seen);
  return false;
}

void ByteQueue::acknowledge_revocation(std::atomic<std::uint32_t>& word,
                                       std::uint32_t seen) noexcept {
  // seq_cst: our earlier index stores come first, so the revoker need not
  // wait for them.
  word.compare_exchange_strong(seen, 0, std::memory_order_seq_cst, std::memory_order_relaxed);
}

void ByteQueue::clear_pending(QueueParticipant& holder) noexcept {
  // release: our commit/release of the slots happens-before a recoverer sees
  // the record no longer covering them.
  holder.pending_end.store(holder.pending_begin.load(std::memory_order_relaxed),
                           std::memory_order_release);
}

// Inlined within this file: the library is built without semantic
// interposition. An earlier build that inlined it saw batches of 32 fall
// from about 40 M to 15 M msgs/s (the claim loop's look-ahead took lines a
// producer was still writing), so it was kept out of line. Re-measured
// with commit and release inlined too (queue.throughput, AMD guest,
// interleaved): batches of 32 ran 10.3-10.8 M msgs/s in the slow regime
// out of line and 11.7-12.0 M inline (in the fast regime about 41 M inline,
// against 43.5 M before the build change); one at a time level.
QueueSlot& ByteQueue::slot(std::uint64_t pos) const noexcept {
  // slot_count_ is a validated power of two: the index is always in range.
  return detail::slot_header(slots_ + (pos & (slot_count_ - 1)) * slot_size_);
}

// ---------------------------------------------------------------- claims

QueueStatus ByteQueue::try_claim(Role role, std::uint64_t want, Claim& out) {
  QueueParticipant& me = participant(role);
  if (me.pending_begin.load(std::memory_order_relaxed) !=
      me.pending_end.load(std::memory_order_relaxed)) {
    throw std::logic_error("queue '" + segment_.name() + "': this thread already holds a " +
                           (role == Role::producer ? "Reservation" : "Message"));
  }
  const bool producer = role == Role::producer;
  std::atomic<std::uint64_t>& index = this->index(role);
  if (producer && head_->closed.load(std::memory_order_acquire) != 0) return QueueStatus::closed;
  // A producer's slot at pos is ready when seq == pos, a consumer's when
  // seq == pos + 1.
  const std::uint64_t ready = producer ? 0 : 1;
  std::uint64_t pos = index.load(std::memory_order_relaxed);
  std::uint64_t n = 0;
  for (;;) {
    n = 0;
    // acquire pairs with the commit/release CAS that made the slot ready:
    // for a consumer, the payload; for a producer, the previous reader is done.
    while (n < want && slot(pos + n).seq.load(std::memory_order_acquire) == pos + n + ready) ++n;
    if (n == 0) {
      const std::uint64_t seq = slot(pos).seq.load(std::memory_order_acquire);
      if (distance(seq, pos + ready) < 0) {
        // Behind by a ring at most: the slot's previous lap, still claimed or
        // being read. Further behind, the tail was moved past what any slot
        // has seen. (Producers only: a consumer's empty look is its polling
        // loop, and every instruction there showed in queue.throughput; a
        // head moved ahead is caught before a consumer sleeps.)
        if (producer && distance(seq, pos) < -static_cast<std::int64_t>(slot_count_)) [[unlikely]] {
          corrupt_claim(role, pos, seq, "more than a ring behind");
        }
        // A failed CAS below may have left a claim recorded: withdraw it.
        me.pending_end.store(me.pending_begin.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
        if (producer) return QueueStatus::full;
        // Closed and drained: nothing claimed beyond us. seq_cst pairs with
        // the producer's tail CAS and closed load (see close()); a producer
        // lease holder's plain tail store has no fence: ours stands for it.
        if (head_->closed.load(std::memory_order_seq_cst) != 0) {
          if (head_->producer_lease.load(std::memory_order_seq_cst) != 0 &&
              !platform::remote_fence()) {
            std::this_thread::sleep_for(kUnfencedStep);  // its store has drained by then
          }
          if (head_->tail.load(std::memory_order_seq_cst) == pos) return QueueStatus::closed;
        }
        return QueueStatus::empty;
      }
      // The slot became ready since the first look (seq == pos + ready: look
      // again), or another thread took pos: the index moved past it. (Its seq
      // is ahead only once the index passed pos, and our acquire of seq makes
      // that move visible to this reload.) Ahead with an index that did not
      // move means corrupted shared state: report it, never spin forever.
      const std::uint64_t moved = index.load(std::memory_order_relaxed);
      if (moved == pos && seq != pos + ready) corrupt_claim(role, pos, seq, "ahead of");
      pos = moved;
      continue;
    }
    // Record the claim before making it, so that a recoverer who sees the
    // index past these positions also sees who holds them (the CAS releases).
    me.pending_begin.store(pos, std::memory_order_relaxed);
    me.pending_end.store(pos + n, std::memory_order_relaxed);
    if (holds_lease(role, me)) {
      // Alone in the role: a plain store. release: our record first, for a
      // recoverer or revoker who sees the index move.
      index.store(pos + n, std::memory_order_release);
      break;
    }
    // Cases: (a) the CAS wins: [pos, pos+n) is ours; (b) it fails: another
    // thread moved the index; pos is reloaded and we look again.
    // seq_cst: for producers, ordered before the closed re-check below.
    if (index.compare_exchange_weak(pos, pos + n, std::memory_order_seq_cst,
                                    std::memory_order_relaxed)) {
      break;
    }
  }
  if (producer && head_->closed.load(std::memory_order_seq_cst) != 0) {
    // close() came between our check and our claim (or, for a lease holder,
    // before a consumer's fence): give the slots back as
    // tombstones, so a consumer that saw them claimed does not wait for them.
    for (std::uint64_t i = 0; i < n; ++i) commit(pos + i, detail::kQueueTombstone);
    clear_pending(me);
    return QueueStatus::closed;
  }
  out = Claim{pos, n, &me};
  return QueueStatus::ok;
}

QueueStatus ByteQueue::wait_to_claim(Role role, std::uint64_t want,
                                     const platform::Deadline& deadline, Claim& out) {
  const bool producer = role == Role::producer;
  const QueueStatus busy = producer ? QueueStatus::full : QueueStatus::empty;
  QueueStatus status = busy;
  // An interrupt already there: no spin. One that comes during the spin is
  // seen when the spin ends, some tens of microseconds later: a look per
  // round would add a load to the spin for a rare event. The look that
  // cannot miss one is [I4] below.
  if (interrupted_.load(std::memory_order_relaxed)) return QueueStatus::interrupted;
  // No spin for a deadline already past (a zero timeout): it only wants the
  // look for a dead holder below.
  platform::ChannelSpin spin(spin_budget_[producer ? 0 : 1]);
  spin.run([&] { return (status = try_claim(role, want, out)) != busy; }, deadline);
  std::atomic<std::uint32_t>& word = sleep_word(role);
  std::atomic<std::uint64_t>& waiting = this->waiting(role);
  // Our record, registered by try_claim() above: its index is our waiting bit.
  const auto record = static_cast<std::uint32_t>(&participant(role) - records(role));
  const std::uint64_t bit = std::uint64_t{1} << record;
  // A dead peer may hold the slot we wait for: look for one this often.
  Clock::time_point check_at = Clock::now() + sync::kDeadOwnerCheck;
  while (status == busy) {
    // [W1] seq_cst, before the re-check: with commit()/release() [K1] this is
    // Dekker's pattern: either they see us waiting, or we see their slot. A
    // light peer has no fence of its own: our remote_fence() stands for it
    // (layout comment). If the kernel refuses it, we sleep in steps.
    waiting.fetch_or(bit, std::memory_order_seq_cst);
    const bool fenced =
        light_flag(other(role)).load(std::memory_order_seq_cst) == 0 || platform::remote_fence();
    // [I3] The value we sleep on, loaded before [I4]: see there.
    const std::uint32_t seen = word.load(std::memory_order_seq_cst);
    status = try_claim(role, want, out);
    if (status == busy) {
      // [I4] seq_cst, after [I3]; interrupt() sets the flag ([I1], seq_cst)
      // before it bumps this word ([I2], seq_cst). If this load misses the
      // flag, it comes before [I1] in the single total order, so [I3] came
      // before [I2] and read the word's value from before the bump: the
      // futex_wait below returns at once (the word moved on), or it sleeps
      // first and [I2]'s wake-up ends it. Either way the next round sees
      // the flag. (seq_cst, not release/acquire through the word: that
      // would need every later write of the word, by any process, to be a
      // read-modify-write.)
      if (interrupted_.load(std::memory_order_seq_cst)) {
        waiting.fetch_and(~bit, std::memory_order_relaxed);
        return QueueStatus::interrupted;
      }
      const Clock::time_point now = Clock::now();
      if (deadline && now >= *deadline) {
        waiting.fetch_and(~bit, std::memory_order_relaxed);
        // A deadline shorter than the check interval never reaches the
        // recover() below: without this, callers looping on short timeouts
        // would wait forever on a dead peer's slot. Look once before giving up.
        if (recover(role)) {
          status = try_claim(role, want, out);
          if (status != busy) return status;
        }
        return QueueStatus::timed_out;
      }
      if (now >= check_at) {
        recover(role);
        check_at = now + sync::kDeadOwnerCheck;
      } else if ((waiting.load(std::memory_order_seq_cst) & bit) != 0) {  // [W2]
        // Else a waker cleared our bit, having taken us for the record's dead
        // thread before we took the record over: no sleep without it (the
        // loop sets it again). Such a waker bumps the word after it, so a
        // `seen` read before the bump cannot put us to sleep either.
        if (!producer) check_head_not_past_tail(bit);
        Clock::time_point until = deadline ? std::min(*deadline, check_at) : check_at;
        if (!fenced) until = std::min(until, now + kUnfencedStep);
        (void)platform::futex_wait(word, seen, until);
      }
      status = try_claim(role, want, out);
    }
    waiting.fetch_and(~bit, std::memory_order_relaxed);
  }
  return status;
}

void ByteQueue::corrupt_claim(Role role, std::uint64_t pos, std::uint64_t seq, const char* what) {
  // Withdraw a claim a failed CAS in try_claim() may have left recorded.
  QueueParticipant& me = participant(role);
  me.pending_end.store(me.pending_begin.load(std::memory_order_relaxed), std::memory_order_relaxed);
  throw Error(Errc::corrupt,
              "queue '" + segment_.name() + "': slot " + std::to_string(pos & (slot_count_ - 1)) +
                  "'s sequence (" + std::to_string(seq) + ") is " + what + " its " +
                  (role == Role::producer ? "tail" : "head") + " (" + std::to_string(pos) + ")");
}

void ByteQueue::check_head_not_past_tail(std::uint64_t waiting_bit) {
  // A consumer only takes positions a producer committed, hence claimed: the
  // head never passes the tail. acquire, head first: a tail loaded after it
  // is at least the tail the head's mover saw. A head past it (a corrupted
  // index) would leave every later message untaken: say so before sleeping.
  const std::uint64_t head = head_->head.load(std::memory_order_acquire);
  const std::uint64_t tail = head_->tail.load(std::memory_order_acquire);
  if (distance(tail, head) >= 0) return;
  head_->consumers_waiting.fetch_and(~waiting_bit, std::memory_order_relaxed);
  throw Error(Errc::corrupt, "queue '" + segment_.name() + "': its head (" + std::to_string(head) +
                                 ") is past its tail (" + std::to_string(tail) + ")");
}

void ByteQueue::commit(std::uint64_t pos, std::uint32_t length) noexcept {
  QueueSlot& s = slot(pos);
  s.length.store(length, std::memory_order_relaxed);
  // [K1] release: payload and length before the slot turns ready for the
  // consumer; then the waiters load, fenced unless light (see [W1]). A
  // store, not a CAS: a recoverer only finishes a slot whose holder is dead,
  // and we are not.
  if (platform::publish_then_look(s.seq, pos + 1, head_->consumers_waiting,
                                  platform::light_fences())) {
    wake(Role::consumer, 1);
  }
}

// Batches publish each slot with a plain release store and order the whole
// run before the waiting bits once, in wake_after_run(): per message, a
// store instead of a locked instruction that would wait for the slot's line.
// A recoverer only CASes a slot whose holder is dead, so no CAS is needed to
// keep a live holder's store from racing one.
void ByteQueue::commit_quietly(std::uint64_t pos, std::uint32_t length) noexcept {
  QueueSlot& s = slot(pos);
  s.length.store(length, std::memory_order_relaxed);
  // release: payload and length before the slot turns ready.
  s.seq.store(pos + 1, std::memory_order_release);
}

void ByteQueue::release_quietly(std::uint64_t pos) noexcept {
  // release: the reading is done before a producer reuses the slot.
  slot(pos).seq.store(pos + slot_count_, std::memory_order_release);
}

void ByteQueue::wake_after_run(Role sleepers, std::uint64_t n) noexcept {
  // [K2] A seq_cst read-modify-write, not a load: it orders the run's release
  // stores before reading the bits, as [K1]'s seq_cst store does for one slot.
  // Against wait_to_claim()'s [W1] fetch_or on the same word, one of the two comes
  // first: either we read the waiter, or its re-check sees our slots.
  if (waiting(sleepers).fetch_or(0, std::memory_order_seq_cst) != 0) {
    wake(sleepers, static_cast<int>(n));  // n <= slot count <= 2^24
  }
}

void ByteQueue::release(std::uint64_t pos) noexcept {
  // [K1] for consumers: release, so the reading is done before a producer
  // reuses the slot; then the waiters load, fenced unless light (see [W1]).
  // A recoverer of this slot would store the same value.
  if (platform::publish_then_look(slot(pos).seq, pos + slot_count_, head_->producers_waiting,
                                  platform::light_fences())) {
    wake(Role::producer, 1);
  }
}

void ByteQueue::wake(Role sleepers, int count) noexcept {
  std::atomic<std::uint32_t>& word = sleep_word(sleepers);
  word.fetch_add(1, std::memory_order_release);
  if (platform::futex_wake(word, count) == 0) drop_dead_sleepers(sleepers);
}

void ByteQueue::drop_dead_sleepers(Role role) noexcept {
  // A wake-up that woke nobody: the sleepers are about to sleep (the common
  // case), or were woken already, or died asleep. A dead one's bit would
  // make every hand-over of ours a system call from now on. Looking costs a
  // /proc read per bit: at most once per check interval per thread. Even the
  // clock read showed with more threads than CPUs (about 5% in
  // queue.scaling's 1x2 and 2x1, where most wake-ups find a sleeper not yet
  // asleep): it is read on every kWokeNobodyPerLook-th such wake-up.
  CachedRecords& entry = cache_entry(head_);
  if (++entry.woke_nobody % kWokeNobodyPerLook != 0) return;
  const Clock::time_point now = Clock::now();
  if (now < entry.next_sleeper_check) return;
  entry.next_sleeper_check = now + sync::kDeadOwnerCheck;
  std::atomic<std::uint64_t>& waiting = this->waiting(role);
  QueueParticipant* const rs = records(role);
  for (std::uint64_t bits = waiting.load(std::memory_order_acquire); bits != 0; bits &= bits - 1) {
    const auto i = static_cast<std::uint32_t>(std::countr_zero(bits));
    const std::uint64_t who = rs[i].who.load(std::memory_order_acquire);
    if (who != 0 && is_alive(ProcessIdentity::unpack(who))) continue;
    // Cases: (a) the record still names the dead thread (or nobody): only
    // its thread sets this bit, so it stays clear. (b) a thread took the
    // record over after our look and may have set the bit since: the seq_cst
    // fetch_and and load order our look at `who` after its takeover in that
    // case, and we bump the word and wake everyone. Its [W2] re-check, or its
    // futex word, then keeps it from sleeping without its bit.
    waiting.fetch_and(~(std::uint64_t{1} << i), std::memory_order_seq_cst);
    if (rs[i].who.load(std::memory_order_seq_cst) != who) {
      std::atomic<std::uint32_t>& word = sleep_word(role);
      word.fetch_add(1, std::memory_order_seq_cst);
      platform::futex_wake_all(word);
    }
  }
}

bool ByteQueue::recover(Role role) noexcept {
  // A consumer waits on the slot at head: claimed by a producer (tail past
  // it), not committed. A producer waits on the slot at tail - count: claimed
  // by a consumer (head past it), not released.
  const bool for_consumer = role == Role::consumer;
  const std::uint64_t ours = index(role).load(std::memory_order_acquire);
  const std::uint64_t pos = for_consumer ? ours : ours - slot_count_;
  const std::uint64_t stuck_seq = for_consumer ? pos : pos + 1;
  std::atomic<std::uint64_t>& claimed_by = index(other(role));
  if (distance(claimed_by.load(std::memory_order_acquire), pos) <= 0) return false;  // unclaimed
  // Holders first, then the slot. A holder covers pos from before its claim
  // (recorded before the index moved, which we acquired) until after its
  // commit or release (cleared with a release store, which covers()
  // acquires). So if no live holder covers pos and the slot is still stuck
  // after that, its holder's process is dead and stores nothing more (a
  // holder whose thread exited may have handed its loan to another thread of
  // its process: the process is what counts). The other order
  // had a window: a live holder committing and clearing between our look at
  // the slot and our look at its record, and our tombstone length landing on
  // its committed message.
  QueueParticipant* holders = for_consumer ? head_->producers : head_->consumers;
  for (std::uint32_t i = 0; i < detail::kQueueMaxParticipants; ++i) {
    const std::uint64_t who = holders[i].who.load(std::memory_order_acquire);
    if (who != 0 && covers(holders[i], pos) && process_alive(holders[i], who)) {
      return false;  // a live process holds it: just slow
    }
  }
  QueueSlot& s = slot(pos);
  if (s.seq.load(std::memory_order_acquire) != stuck_seq) return false;  // finished
  // No live process holds it: its holder died. Finish its step for it. The
  // CAS makes exactly one recoverer win.
  std::uint64_t expected = stuck_seq;
  if (for_consumer) {
    s.length.store(detail::kQueueTombstone, std::memory_order_relaxed);
    if (!s.seq.compare_exchange_strong(expected, pos + 1, std::memory_order_seq_cst)) return false;
    head_->not_empty.fetch_add(1, std::memory_order_release);
    platform::futex_wake_all(head_->not_empty);
  } else {
    if (!s.seq.compare_exchange_strong(expected, pos + slot_count_, std::memory_order_seq_cst)) {
      return false;
    }
    head_->not_full.fetch_add(1, std::memory_order_release);
    platform::futex_wake_all(head_->not_full);
  }
  return true;
}

// ---------------------------------------------------------------- operations

void ByteQueue::throw_too_large(std::size_t bytes) const {
  throw Error(Errc::message_too_large,
              "queue '" + segment_.name() + "': a message of " + std::to_string(bytes) +
                  " bytes exceeds its max_message of " + std::to_string(max_message_));
}

void ByteQueue::throw_too_small(std::size_t room) const {
  throw Error(Errc::message_too_large,
              "queue '" + segment_.name() + "': a buffer of " + std::to_string(room) +
                  " bytes is smaller than its max_message of " + std::to_string(max_message_) +
                  " (nothing taken: a taken message cannot be given back)");
}

std::uint32_t ByteQueue::checked_length(std::uint64_t pos) const {
  // relaxed: ordered after the acquire load of seq in try_claim().
  const std::uint32_t length = slot(pos).length.load(std::memory_order_relaxed);
  if (length != detail::kQueueTombstone && length > max_message_) {
    return detail::kQueueTombstone - 1;  // the caller reports it as corrupt
  }
  return length;
}

QueueStatus ByteQueue::claim_to_push(bool wait, const platform::Deadline& deadline, Claim& out) {
  const QueueStatus status = claim(Role::producer, 1, wait, deadline, out);
  if (status == QueueStatus::ok) {
    detail::prefetch_slot_for_write(slot(out.first + detail::kSlotPrefetchAhead));
  }
  return status;
}

void ByteQueue::finish_push(const Claim& c, std::size_t length) noexcept {
  commit(c.first, static_cast<std::uint32_t>(length));  // length <= max_message_
  clear_pending(*c.holder);
}

std::size_t ByteQueue::try_push_batch(std::span<const std::span<const std::byte>> messages) {
  for (const auto& m : messages) check_size(m.size());
  return push_run(messages);
}

std::size_t ByteQueue::push_run(std::span<const std::span<const std::byte>> messages) {
  if (messages.empty()) return 0;
  Claim c;
  if (try_claim(Role::producer, messages.size(), c) != QueueStatus::ok) return 0;
  for (std::uint64_t i = 0; i < c.got; ++i) {
    const auto& m = messages[i];
    detail::copy_into_slot(payload(c.first + i), m);
    commit_quietly(c.first + i, static_cast<std::uint32_t>(m.size()));
  }
  wake_after_run(Role::consumer, c.got);
  clear_pending(*c.holder);
  return static_cast<std::size_t>(c.got);
}

QueueStatus ByteQueue::push_batch_until(std::span<const std::span<const std::byte>> messages,
                                        std::size_t& pushed, platform::Deadline deadline) {
  pushed = 0;
  for (const auto& m : messages) check_size(m.size());  // once, not on every run
  while (pushed < messages.size()) {
    const std::size_t n = push_run(messages.subspan(pushed));
    if (n != 0) {
      pushed += n;
      continue;
    }
    // Full (or closed): the one-message push waits for room, or says why not.
    const QueueStatus status = push_until(messages[pushed], deadline);
    if (status != QueueStatus::ok) return status;
    ++pushed;
  }
  return QueueStatus::ok;
}

std::size_t ByteQueue::deliver(const Claim& c, Visitor visit, void* ctx, bool& corrupt) {
  // A slot with a corrupted length is skipped (released, as try_pop()
  // skips it) and the rest of the run still delivered: the caller throws
  // Errc::corrupt once it is done, and the good messages are not lost.
  std::size_t delivered = 0;
  std::uint64_t i = 0;
  try {
    for (; i < c.got; ++i) {
      const std::uint32_t length = checked_length(c.first + i);
      if (length == detail::kQueueTombstone - 1) {
        corrupt = true;
      } else if (length != detail::kQueueTombstone) {
        visit(ctx, {payload(c.first + i), length});
        ++delivered;
      }
      release_quietly(c.first + i);
    }
  } catch (...) {
    for (; i < c.got; ++i) release_quietly(c.first + i);  // taken: released, not redelivered
    wake_after_run(Role::producer, c.got);
    clear_pending(*c.holder);
    throw;
  }
  wake_after_run(Role::producer, c.got);
  clear_pending(*c.holder);
  return delivered;
}

std::size_t ByteQueue::take_ready(std::size_t max, Visitor visit, void* ctx, bool& corrupt) {
  std::size_t delivered = 0;
  while (delivered < max && !corrupt) {
    Claim c;
    if (try_claim(Role::consumer, max - delivered, c) != QueueStatus::ok) break;
    delivered += deliver(c, visit, ctx, corrupt);
  }
  return delivered;
}

void ByteQueue::throw_corrupt_in_batch() const {
  throw Error(Errc::corrupt, "queue '" + segment_.name() +
                                 "': a slot's length exceeds max_message (skipped; the batch's "
                                 "other messages were delivered)");
}

std::size_t ByteQueue::pop_ready(std::size_t max, Visitor visit, void* ctx) {
  bool corrupt = false;
  const std::size_t delivered = take_ready(max, visit, ctx, corrupt);
  if (corrupt) throw_corrupt_in_batch();
  return delivered;
}

QueueStatus ByteQueue::pop_batch_waiting(std::size_t max, std::size_t& taken,
                                         const platform::Deadline& deadline, Visitor visit,
                                         void* ctx) {
  taken = 0;
  if (max == 0) throw std::invalid_argument("pop_batch: max must be at least 1");
  bool corrupt = false;
  bool wait = true;
  for (;;) {
    Claim c;
    const QueueStatus status = claim(Role::consumer, max, wait, deadline, c);
    if (status != QueueStatus::ok) {
      return !wait && status == QueueStatus::empty ? QueueStatus::timed_out : status;
    }
    taken = deliver(c, visit, ctx, corrupt);
    if (taken != 0 || corrupt) break;
    // Only skipped slots (dead or closed-out producers'): wait on for a
    // message; past the deadline, only through slots ready now (as
    // claim_to_pop()).
    if (deadline && Clock::now() >= *deadline) wait = false;
  }
  if (!corrupt) taken += take_ready(max - taken, visit, ctx, corrupt);  // the rest ready now
  if (corrupt) throw_corrupt_in_batch();
  return QueueStatus::ok;
}

QueueStatus ByteQueue::reserve(Reservation& out, bool wait, const platform::Deadline& deadline) {
  if (out.active()) throw std::logic_error("reserve(): the Reservation is still active");
  Claim c;
  const QueueStatus status = claim_to_push(wait, deadline, c);
  if (status != QueueStatus::ok) return status;
  out.queue_ = this;
  out.holder_ = c.holder;
  out.pos_ = c.first;
  out.data_ = {payload(c.first), max_message_};
  return status;
}

QueueStatus ByteQueue::claim_to_pop(bool wait, const platform::Deadline& deadline, Claim& out,
                                    std::uint32_t& length) {
  for (;;) {
    const QueueStatus status = claim(Role::consumer, 1, wait, deadline, out);
    if (status != QueueStatus::ok) return status;
    length = checked_length(out.first);
    if (length == detail::kQueueTombstone) {  // a dead or closed-out producer's slot
      finish_pop(out);
      // Past the deadline, skipping goes on only through slots ready now: a
      // message right behind a dead producer's slot is still taken (a zero
      // timeout that recovered the slot returns it), and no wait or recovery
      // follows (a corrupted tail far ahead of head would otherwise make a
      // long run of recovered tombstones).
      if (deadline && Clock::now() >= *deadline) {
        // No wait, no recovery.
        const QueueStatus now = claim_to_pop(false, std::nullopt, out, length);
        return now == QueueStatus::empty ? QueueStatus::timed_out : now;
      }
      continue;
    }
    if (length == detail::kQueueTombstone - 1) {
      finish_pop(out);
      throw Error(Errc::corrupt,
                  "queue '" + segment_.name() + "': a slot's length exceeds " + "max_message");
    }
    return QueueStatus::ok;
  }
}

void ByteQueue::finish_pop(const Claim& c) noexcept {
  release(c.first);
  clear_pending(*c.holder);
}

QueueStatus ByteQueue::read(Message& out, bool wait, const platform::Deadline& deadline) {
  out.release();
  std::uint32_t length = 0;
  const QueueStatus status = claim_to_pop(wait, deadline, out.claim_, length);
  if (status != QueueStatus::ok) return status;
  out.queue_ = this;
  out.data_ = {payload(out.claim_.first), length};
  return status;
}

void ByteQueue::interrupt() noexcept {
  const int saved = errno;  // a signal handler's caller must find it as it was
  // [I1] seq_cst, before [I2]: see [I4] in wait_to_claim().
  interrupted_.store(true, std::memory_order_seq_cst);
  if (head_ != nullptr) {  // else moved from: nothing waits on it
    for (std::atomic<std::uint32_t>* word : {&head_->not_empty, &head_->not_full}) {
      // [I2] Bump the word, so that a waiter whose [I4] missed the flag
      // does not sleep on the value it loaded, then wake those asleep. All
      // of them: we cannot pick this handle's; the others find nothing and
      // sleep again.
      word->fetch_add(1, std::memory_order_seq_cst);
      platform::futex_wake_all(*word);
    }
  }
  errno = saved;
}

void ByteQueue::clear_interrupt() noexcept {
  // relaxed: a wait that starts after this call (happens after it) sees it
  // (coherence); one under way may or may not, as queue.hpp says.
  interrupted_.store(false, std::memory_order_relaxed);
}

bool ByteQueue::interrupted() const noexcept {
  return interrupted_.load(std::memory_order_relaxed);
}

void ByteQueue::close() noexcept {
  // seq_cst pairs with try_claim()'s tail CAS and closed re-check.
  head_->closed.store(1, std::memory_order_seq_cst);
  head_->not_empty.fetch_add(1, std::memory_order_seq_cst);
  head_->not_full.fetch_add(1, std::memory_order_seq_cst);
  platform::futex_wake_all(head_->not_empty);
  platform::futex_wake_all(head_->not_full);
}

bool ByteQueue::closed() const noexcept {
  return head_->closed.load(std::memory_order_acquire) != 0;
}

std::uint64_t ByteQueue::depth() const noexcept {
  const std::uint64_t head = head_->head.load(std::memory_order_relaxed);
  const std::uint64_t tail = head_->tail.load(std::memory_order_relaxed);
  const std::int64_t d = distance(tail, head);
  return d <= 0 ? 0 : std::min<std::uint64_t>(static_cast<std::uint64_t>(d), slot_count_);
}

std::uint32_t ByteQueue::producers() const {
  std::uint32_t n = 0;
  for (const auto& p : head_->producers) {
    const std::uint64_t who = p.who.load(std::memory_order_relaxed);
    if (who != 0 && is_alive(ProcessIdentity::unpack(who))) ++n;
  }
  return n;
}

std::uint32_t ByteQueue::consumers() const {
  std::uint32_t n = 0;
  for (const auto& p : head_->consumers) {
    const std::uint64_t who = p.who.load(std::memory_order_relaxed);
    if (who != 0 && is_alive(ProcessIdentity::unpack(who))) ++n;
  }
  return n;
}

// ---------------------------------------------------------------- loans

ByteQueue::Reservation::Reservation(Reservation&& other) noexcept
    : queue_(std::exchange(other.queue_, nullptr)),
      holder_(other.holder_),
      pos_(other.pos_),
      data_(other.data_) {}

ByteQueue::Reservation& ByteQueue::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    if (queue_ != nullptr) {
      queue_->commit(pos_, detail::kQueueTombstone);
      queue_->clear_pending(*holder_);
    }
    queue_ = std::exchange(other.queue_, nullptr);
    holder_ = other.holder_;
    pos_ = other.pos_;
    data_ = other.data_;
  }
  return *this;
}

ByteQueue::Reservation::~Reservation() {
  if (queue_ == nullptr) return;
  queue_->commit(pos_, detail::kQueueTombstone);  // abandoned: consumers skip it
  queue_->clear_pending(*holder_);
}

void ByteQueue::Reservation::commit(std::size_t length) {
  if (queue_ == nullptr) throw std::logic_error("commit(): no active Reservation");
  queue_->check_size(length);
  queue_->commit(pos_, static_cast<std::uint32_t>(length));
  queue_->clear_pending(*holder_);
  queue_ = nullptr;
}

ByteQueue::Message::Message(Message&& other) noexcept
    : queue_(std::exchange(other.queue_, nullptr)), claim_(other.claim_), data_(other.data_) {}

ByteQueue::Message& ByteQueue::Message::operator=(Message&& other) noexcept {
  if (this != &other) {
    release();
    queue_ = std::exchange(other.queue_, nullptr);
    claim_ = other.claim_;
    data_ = other.data_;
  }
  return *this;
}

void ByteQueue::Message::release() noexcept {
  if (queue_ == nullptr) return;
  queue_->finish_pop(claim_);
  queue_ = nullptr;
}

}  // namespace shmkit
