#pragma once

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../list/list_test_util.hpp"
#include "shmkit/detail/queue_layout.hpp"
#include "shmkit/detail/slot_copy.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/queue.hpp"

// Helpers for the queue tests: iteration scaling under sanitizers, stress
// messages that carry (producer, seq, payload checksum) and a varied length,
// and the delivery check (each message exactly once, per-producer order kept
// within each consumer).

namespace shmkit::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kQueueSlowdown = 10;
#else
inline constexpr int kQueueSlowdown = 1;
#endif
constexpr int scaled_queue(int n) { return std::max(1, n / kQueueSlowdown); }

// Text messages for the batch tests: a message as text, spans over texts
// (a batch to push or send), and prefix + first ... prefix + (first+count-1).
inline std::string text_of(std::span<const std::byte> m) {
  return {reinterpret_cast<const char*>(m.data()), m.size()};  // NOLINT: bytes as text
}
inline std::vector<std::span<const std::byte>> spans_of(const std::vector<std::string>& texts) {
  std::vector<std::span<const std::byte>> spans;
  spans.reserve(texts.size());
  for (const std::string& t : texts) spans.push_back(std::as_bytes(std::span(t)));
  return spans;
}
inline std::vector<std::string> numbered(const std::string& prefix, int first, int count) {
  std::vector<std::string> texts;
  texts.reserve(static_cast<std::size_t>(count));
  for (int i = first; i < first + count; ++i) texts.push_back(prefix + std::to_string(i));
  return texts;
}

// Options that open a segment of any kind: a test's raw view of a queue's or
// a pipe's shared words, to corrupt them.
inline SegmentOptions any_kind() {
  SegmentOptions o;
  o.any_kind = true;
  return o;
}

inline constexpr int kStressProducers = 4;
inline constexpr int kStressConsumers = 4;
inline constexpr std::uint32_t kStressMax = 200;  // max_message of the stress queues
inline constexpr std::size_t kStressHeader = 16;  // producer, seq, checksum

constexpr std::uint64_t tag_of(std::uint32_t producer, std::uint32_t seq) noexcept {
  return (std::uint64_t{producer} << 32) | seq;
}

// The message (producer, seq): header then a payload determined by the pair.
inline std::vector<std::byte> stress_message(std::uint32_t producer, std::uint32_t seq,
                                             std::uint32_t max = kStressMax) {
  const std::uint64_t h = mix(tag_of(producer, seq));
  const std::size_t length = static_cast<std::size_t>(h % (max - kStressHeader + 1));
  std::vector<std::byte> m(kStressHeader + length);
  std::uint64_t sum = 0xcbf29ce484222325ULL;
  std::uint64_t x = h;
  for (std::size_t i = 0; i < length; ++i) {
    if (i % 8 == 0) x = mix(x);
    const auto b = static_cast<std::byte>(x >> (8 * (i % 8)));
    m[kStressHeader + i] = b;
    sum = (sum ^ static_cast<std::uint64_t>(b)) * 0x100000001b3ULL;
  }
  std::memcpy(m.data(), &producer, 4);
  std::memcpy(m.data() + 4, &seq, 4);
  std::memcpy(m.data() + 8, &sum, 8);
  return m;
}

// The tag of a stress message, or ~0 if it is torn or garbage.
inline std::uint64_t check_stress_message(std::span<const std::byte> m,
                                          std::uint32_t max = kStressMax) {
  if (m.size() < kStressHeader) return ~std::uint64_t{0};
  std::uint32_t producer = 0;
  std::uint32_t seq = 0;
  std::memcpy(&producer, m.data(), 4);
  std::memcpy(&seq, m.data() + 4, 4);
  const std::vector<std::byte> expected = stress_message(producer, seq, max);
  if (m.size() != expected.size() || std::memcmp(m.data(), expected.data(), m.size()) != 0) {
    return ~std::uint64_t{0};
  }
  return tag_of(producer, seq);
}

// Large messages, for the copy that streams past the caches
// (detail/slot_copy.hpp): message i's size cycles through sizes around the
// threshold where that copy starts (and one just under the out-of-line
// copy), its bytes are determined by i.
inline std::vector<std::size_t> large_message_sizes() {
  const std::size_t t = detail::large_copy_threshold();
  return {t, t + 13, detail::kLargeCopyMin - 1, t + 65'537, 2 * t + 5};
}
inline std::uint32_t large_message_max() {
  return static_cast<std::uint32_t>(2 * detail::large_copy_threshold() + 64);
}
inline std::vector<std::byte> large_message(std::uint32_t i) {
  const std::vector<std::size_t> sizes = large_message_sizes();
  std::vector<std::byte> m(sizes[i % sizes.size()]);
  std::uint64_t x = mix(i);
  for (std::size_t k = 0; k < m.size(); ++k) {
    if (k % 8 == 0) x = mix(x + k);
    m[k] = static_cast<std::byte>(x >> (8 * (k % 8)));
  }
  return m;
}

// Receives `count` messages with receive(buffer) (a pop or recv with a
// timeout): "" if they were large_message(0 .. count - 1) in order, else
// what went wrong.
inline std::string check_large_messages(
    const std::function<QueueStatus(std::vector<std::byte>&)>& receive, std::uint32_t count) {
  std::vector<std::byte> got;
  for (std::uint32_t i = 0; i < count; ++i) {
    const QueueStatus st = receive(got);
    if (st != QueueStatus::ok) {
      return "message " + std::to_string(i) + ": status " + std::to_string(static_cast<int>(st));
    }
    if (got != large_message(i)) return "message " + std::to_string(i) + " is not what was sent";
  }
  return "";
}

// Pushes producer p's messages first..n-1; "" or what went wrong. Every 7th
// goes through a Reservation, and every 7th starts a try_push_batch of 3 (what
// does not fit then goes one by one, blocking).
inline std::string produce(ByteQueue& q, std::uint32_t p, std::uint32_t n,
                           std::uint32_t first = 0) {
  for (std::uint32_t s = first; s < n; ++s) {
    if (s % 7 == 5 && s + 3 <= n) {
      const std::array<std::vector<std::byte>, 3> batch{
          stress_message(p, s), stress_message(p, s + 1), stress_message(p, s + 2)};
      const std::array<std::span<const std::byte>, 3> spans{batch[0], batch[1], batch[2]};
      const std::size_t pushed = q.try_push_batch(spans);
      for (std::size_t i = pushed; i < spans.size(); ++i) {
        const QueueStatus st = q.push_for(spans[i], kGenerous);
        if (st != QueueStatus::ok) return "push: status " + std::to_string(static_cast<int>(st));
      }
      s += 2;
      continue;
    }
    const std::vector<std::byte> m = stress_message(p, s);
    if (s % 7 == 3) {
      ByteQueue::Reservation r;
      const QueueStatus st = q.reserve_until(r, detail::deadline_after(kGenerous));
      if (st != QueueStatus::ok) return "reserve: status " + std::to_string(static_cast<int>(st));
      std::memcpy(r.data().data(), m.data(), m.size());
      r.commit(m.size());
      continue;
    }
    const QueueStatus st = q.push_for(std::span<const std::byte>(m), kGenerous);
    if (st != QueueStatus::ok) return "push: status " + std::to_string(static_cast<int>(st));
  }
  return "";
}

// Pops until closed, calling got(tag) for each; "" or what went wrong. Every
// 5th read is in place, every 5th a try_pop_batch of up to 4, and every 5th
// into a buffer of max_message() bytes.
inline std::string consume_all(ByteQueue& q, const std::function<void(std::uint64_t)>& got) {
  std::vector<std::byte> buffer;
  std::vector<std::byte> room(q.max_message());
  for (std::uint64_t i = 0;; ++i) {
    QueueStatus st{};
    std::uint64_t tag = 0;
    if (i % 5 == 2) {
      bool torn = false;
      q.try_pop_batch(4, [&](std::span<const std::byte> m) {
        const std::uint64_t t = check_stress_message(m);
        if (t == ~std::uint64_t{0}) torn = true;
        if (!torn) got(t);
      });
      if (torn) return "a message of a batch is torn";
      continue;  // none now: the next rounds block
    }
    if (i % 5 == 4) {
      ByteQueue::Message m;
      st = q.read_until(m, detail::deadline_after(kGenerous));
      if (st == QueueStatus::ok) tag = check_stress_message(m.data());
    } else if (i % 5 == 1) {
      std::size_t length = 0;
      st = q.pop_for(std::span<std::byte>(room), length, kGenerous);
      if (st == QueueStatus::ok) tag = check_stress_message({room.data(), length});
    } else {
      st = q.pop_for(buffer, kGenerous);
      if (st == QueueStatus::ok) tag = check_stress_message(buffer);
    }
    if (st == QueueStatus::closed) return "";
    if (st != QueueStatus::ok) return "pop: status " + std::to_string(static_cast<int>(st));
    if (tag == ~std::uint64_t{0}) return "message " + std::to_string(i) + " is torn";
    got(tag);
  }
}

// Each consumer's tags in the order it got them: "" if every (producer, seq)
// of `producers` x `per_producer` came exactly once, and each consumer saw
// each producer's messages in increasing order.
inline std::string check_delivery(const std::vector<std::span<const std::uint64_t>>& consumers,
                                  int producers, std::uint32_t per_producer) {
  std::vector<std::uint8_t> seen(static_cast<std::size_t>(producers) * per_producer, 0);
  for (std::size_t c = 0; c < consumers.size(); ++c) {
    std::vector<std::int64_t> last(static_cast<std::size_t>(producers), -1);
    for (const std::uint64_t tag : consumers[c]) {
      const auto p = static_cast<std::uint32_t>(tag >> 32);
      const auto s = static_cast<std::uint32_t>(tag);
      if (p >= static_cast<std::uint32_t>(producers) || s >= per_producer) {
        return "consumer " + std::to_string(c) + " got an unknown message";
      }
      if (static_cast<std::int64_t>(s) <= last[p]) {
        return "consumer " + std::to_string(c) + " got producer " + std::to_string(p) +
               "'s messages out of order";
      }
      last[p] = s;
      if (seen[std::size_t{p} * per_producer + s]++ != 0) {
        return "message " + std::to_string(p) + "/" + std::to_string(s) + " came twice";
      }
    }
  }
  const auto missing = std::count(seen.begin(), seen.end(), 0);
  if (missing != 0) return std::to_string(missing) + " messages never came";
  return "";
}

// The shared head of a queue's segment, to look at or corrupt its words.
inline detail::QueueHead& queue_head(const Segment& segment) {
  return *reinterpret_cast<detail::QueueHead*>(segment.data().data());  // NOLINT: mapped layout
}

// Slot `index` (0 .. slot_count - 1) of a queue's segment.
inline detail::QueueSlot& queue_slot(const Segment& segment, std::uint64_t index) {
  const detail::QueueHead& h = queue_head(segment);
  return *reinterpret_cast<detail::QueueSlot*>(  // NOLINT: mapped layout
      segment.data().data() + h.slots_offset + index * h.slot_size);
}

// Forks a process that opens pipe `name` (so it takes the free end), sends
// `messages` in order, then holds its end until it is killed. Returns its pid
// once it has sent them all, or -1 if it did not get that far (it is then
// killed and reaped; the caller asserts).
inline pid_t pipe_end_holder(std::string_view name,
                             std::initializer_list<std::string_view> messages) {
  const Pipe sent;
  const pid_t pid = fork_child([&] {
    auto end = shmkit::Pipe::open(name);
    for (const std::string_view m : messages) {
      check_in_child(end.send(std::as_bytes(std::span(m))) == QueueStatus::ok, "send");
    }
    sent.send();
    for (;;) ::pause();  // until killed, holding its end
  });
  if (sent.receive(kGenerousMs)) return pid;
  ::kill(pid, SIGKILL);
  (void)wait_exit_code(pid);
  return -1;
}

}  // namespace shmkit::test
