// Pipe: duplex traffic between two processes (and two threads, for tsan),
// busy-poll ping-pong, timeouts, poll(), zero-copy, close and death of the
// peer, the two-ends rule, takeover of a dead holder's end, corrupt lengths.
#include <signal.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "queue_test_util.hpp"
#include "shmkit/detail/pipe_layout.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/platform/remote_fence.hpp"

namespace shmkit {
namespace {

using namespace std::chrono_literals;
using test::any_kind;
using test::check_in_child;
using test::ScopedName;

const auto* const kClean = ::testing::AddGlobalTestEnvironment(new test::NoLeftovers);

constexpr std::uint32_t kMax = 128;

std::span<const std::byte> span_of(const std::vector<std::byte>& m) { return m; }

// Sends `n` messages tagged `id` while receiving `n` tagged `peer_id`, at once
// (a sender thread and this one): "" or what went wrong.
std::string duplex(Pipe& pipe, std::uint32_t id, std::uint32_t peer_id, std::uint32_t n) {
  std::string send_error;
  std::thread sender([&] {
    for (std::uint32_t s = 0; s < n; ++s) {
      const auto m = test::stress_message(id, s, kMax);
      const QueueStatus st = pipe.send_for(span_of(m), test::kGenerous);
      if (st != QueueStatus::ok) {
        send_error = "send " + std::to_string(s) + ": " + std::to_string(static_cast<int>(st));
        return;
      }
    }
  });
  std::string error;
  std::vector<std::byte> got;
  for (std::uint32_t s = 0; s < n && error.empty(); ++s) {
    const QueueStatus st = pipe.recv_for(got, test::kGenerous);
    if (st != QueueStatus::ok) {
      error = "recv " + std::to_string(s) + ": " + std::to_string(static_cast<int>(st));
    } else if (test::check_stress_message(got, kMax) != test::tag_of(peer_id, s)) {
      error = "recv " + std::to_string(s) + ": wrong or torn message";
    }
  }
  sender.join();
  return error.empty() ? send_error : error;
}

TEST(Pipe, BothDirectionsAtOnceBetweenTwoProcesses) {
  const ScopedName name("p-duplex");
  const auto n = static_cast<std::uint32_t>(test::scaled_queue(50'000));
  auto a = Pipe::create(name, {.capacity = 16, .max_message = kMax});
  EXPECT_EQ(a.end(), 0);
  const pid_t child = test::fork_child([&] {
    auto b = Pipe::open(name);
    check_in_child(b.end() == 1, "end");
    const std::string error = duplex(b, 1, 0, n);
    check_in_child(error.empty(), error);
  });
  EXPECT_EQ(duplex(a, 0, 1, n), "");
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

// Messages large enough for the copy that streams past the caches, sent
// by another process through a ring they wrap around several times: each
// arrives whole and in order.
TEST(Pipe, LargeMessagesArriveWholeFromAnotherProcess) {
  const ScopedName name("p-large");
  constexpr std::uint32_t kCount = 24;
  auto a = Pipe::create(name, {.capacity = 4, .max_message = test::large_message_max()});
  const pid_t child = test::fork_child([&] {
    auto b = Pipe::open(name);
    for (std::uint32_t i = 0; i < kCount; ++i) {
      check_in_child(
          b.send_for(span_of(test::large_message(i)), test::kGenerous) == QueueStatus::ok, "send");
    }
  });
  EXPECT_EQ(test::check_large_messages([&](auto& got) { return a.recv_for(got, test::kGenerous); },
                                       kCount),
            "");
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

// Each side is light (plain stores, the peer's remote_fence()) or not (seq_cst
// stores and loads), in every combination: blocking traffic both ways, with a
// small ring so that both sides sleep on space as well as on data.
TEST(Pipe, BothDirectionsWhetherEachSideFencesOrNot) {
  const auto n = static_cast<std::uint32_t>(test::scaled_queue(5'000));
  for (const bool a_light : {true, false}) {
    for (const bool b_light : {true, false}) {
      const ScopedName name(std::string("p-fence-") + (a_light ? "l" : "s") +
                            (b_light ? "l" : "s"));
      (void)Pipe::create(name, {.capacity = 2, .max_message = kMax});
      // Both ends open before any traffic: the creator's handle closed end 0,
      // and a side that looked before end 0's new holder opened would see it
      // closed.
      const test::Pipe opened;
      const test::Pipe go;
      auto side = [&](bool light, std::uint32_t id) {
        return test::fork_child([&, light, id] {
          if (!light) platform::disable_light_fences_for_testing();
          auto p = Pipe::open(name);
          opened.send();
          check_in_child(go.receive(test::kGenerousMs), "go");
          if (!light) check_in_child(!platform::light_fences(), "light fences still on");
          const std::string error = duplex(p, id, 1 - id, n);
          check_in_child(error.empty(), error);
        });
      };
      const pid_t a = side(a_light, 0);
      const pid_t b = side(b_light, 1);
      EXPECT_TRUE(opened.receive(test::kGenerousMs) && opened.receive(test::kGenerousMs));
      go.send(2);
      EXPECT_EQ(test::wait_exit_code(a), 0) << a_light << b_light;
      EXPECT_EQ(test::wait_exit_code(b), 0) << a_light << b_light;
    }
  }
}

TEST(Pipe, BothDirectionsAtOnceBetweenThreads) {
  const ScopedName name("p-duplex-mt");
  const auto n = static_cast<std::uint32_t>(test::scaled_queue(20'000));
  auto a = Pipe::create(name, {.capacity = 8, .max_message = kMax});
  auto b = Pipe::open(name);
  std::string b_error;
  std::thread other([&] { b_error = duplex(b, 1, 0, n); });
  EXPECT_EQ(duplex(a, 0, 1, n), "");
  other.join();
  EXPECT_EQ(b_error, "");
}

TEST(Pipe, BusyPollPingPongWithTryForms) {
  const ScopedName name("p-ping");
  const auto rounds = static_cast<std::uint32_t>(test::scaled_queue(5'000));
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  const pid_t child = test::fork_child([&] {
    auto b = Pipe::open(name);
    std::string got;
    for (std::uint32_t i = 0; i < rounds; ++i) {
      QueueStatus st{};
      while ((st = b.try_recv(got)) == QueueStatus::empty) {
        std::this_thread::yield();  // two cores may be shared by more than us
      }
      check_in_child(st == QueueStatus::ok && got == std::to_string(i % 1000),
                     "ping " + std::to_string(i));
      const std::string reply = std::to_string((i + 1) % 1000);
      while ((st = b.try_send(std::as_bytes(std::span(reply)))) == QueueStatus::full) {
        std::this_thread::yield();
      }
      check_in_child(st == QueueStatus::ok, "pong");
    }
  });
  std::string got;
  for (std::uint32_t i = 0; i < rounds; ++i) {
    const std::string ping = std::to_string(i % 1000);
    QueueStatus st{};
    while ((st = a.try_send(std::as_bytes(std::span(ping)))) == QueueStatus::full) {
      std::this_thread::yield();
    }
    ASSERT_EQ(st, QueueStatus::ok);
    while ((st = a.try_recv(got)) == QueueStatus::empty) {
      std::this_thread::yield();
    }
    ASSERT_EQ(st, QueueStatus::ok);
    ASSERT_EQ(got, std::to_string((i + 1) % 1000));
  }
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

TEST(Pipe, TimeoutsFullAndEmptyAndPoll) {
  const ScopedName name("p-timeout");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  auto b = Pipe::open(name);
  std::string got;
  EXPECT_EQ(b.try_recv(got), QueueStatus::empty);
  EXPECT_EQ(b.recv_for(got, 30ms), QueueStatus::timed_out);
  EXPECT_EQ(b.recv_for(got, 60ms), QueueStatus::timed_out);  // past the check interval
  EXPECT_FALSE(b.poll(10ms));
  const std::string msg = "hi";
  ASSERT_EQ(a.try_send(std::as_bytes(std::span(msg))), QueueStatus::ok);
  ASSERT_EQ(a.send(std::as_bytes(std::span(msg))), QueueStatus::ok);
  EXPECT_EQ(a.try_send(std::as_bytes(std::span(msg))), QueueStatus::full);
  EXPECT_EQ(a.send_for(std::as_bytes(std::span(msg)), 30ms), QueueStatus::timed_out);
  EXPECT_EQ(a.send_for(std::as_bytes(std::span(msg)), 60ms), QueueStatus::timed_out);
  EXPECT_TRUE(b.poll(0ms));
  EXPECT_TRUE(b.poll(test::kGenerous));
  ASSERT_EQ(b.recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "hi");
  EXPECT_EQ(a.send_for(std::as_bytes(std::span(msg)), test::kGenerous), QueueStatus::ok);
  const std::string big(9, 'x');
  EXPECT_EQ(test::thrown_by([&] { (void)a.try_send(std::as_bytes(std::span(big))); }).code,
            test::code_of(Errc::message_too_large));
  ASSERT_EQ(b.recv(got), QueueStatus::ok);
  ASSERT_EQ(b.recv(got), QueueStatus::ok);
  EXPECT_EQ(b.try_recv(got), QueueStatus::empty);  // the too-large one wrote nothing
}

TEST(Pipe, PollWakesWhenTheOtherProcessSends) {
  const ScopedName name("p-poll");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 8});
  test::Pipe go;
  const pid_t child = test::fork_child([&] {
    auto b = Pipe::open(name);
    check_in_child(go.receive(), "go");
    const std::string m = "x";
    check_in_child(b.send(std::as_bytes(std::span(m))) == QueueStatus::ok, "send");
  });
  go.send();
  EXPECT_TRUE(a.poll(test::kGenerous));
  std::string got;
  EXPECT_EQ(a.try_recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "x");
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

TEST(Pipe, ZeroCopyReserveCommitPeekRelease) {
  const ScopedName name("p-zc");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 32});
  auto b = Pipe::open(name);
  EXPECT_FALSE(b.try_peek().has_value());
  for (int lap = 0; lap < 5; ++lap) {
    for (int i = 0; i < 2; ++i) {
      const std::span<std::byte> slot = a.try_reserve();
      ASSERT_EQ(slot.size(), 32u);
      const std::string text = "m" + std::to_string(lap * 2 + i);
      std::memcpy(slot.data(), text.data(), text.size());
      a.commit(text.size());
    }
    EXPECT_TRUE(a.try_reserve().empty());  // full
    for (int i = 0; i < 2; ++i) {
      const auto m = b.try_peek();
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()),  // NOLINT
                "m" + std::to_string(lap * 2 + i));
      b.release();
    }
    EXPECT_FALSE(b.try_peek().has_value());
  }
  ASSERT_FALSE(a.try_reserve().empty());
  EXPECT_EQ(test::thrown_by([&] { a.commit(33); }).code, test::code_of(Errc::message_too_large));
}

// A message of `size` bytes that differs from every other (max, lap, index).
std::vector<std::byte> patterned(std::uint32_t size, int lap, std::uint32_t index) {
  std::vector<std::byte> m(size);
  for (std::uint32_t k = 0; k < size; ++k) {
    m[k] = static_cast<std::byte>(size * 7 + static_cast<std::uint32_t>(lap) * 31 + index * 13 + k);
  }
  return m;
}

// Slots are packed on 16 bytes up to 256 bytes (header and payload) and
// whole lines above (detail/pipe_layout.hpp). For each max_message around
// those steps, a full ring of messages of the largest size, both ways, for
// three laps: each arrives whole, so writing one never touched its
// neighbours; and every slot's reserved payload is on 16 bytes.
constexpr std::uint32_t kRingOf4 = 4;

TEST(Pipe, PackedAndWholeLineSlotsKeepEveryMessageWholeAcrossLaps) {
  for (const std::uint32_t max : {1u, 15u, 16u, 17u, 48u, 64u, 65u, 200u, 239u, 240u, 241u, 300u}) {
    SCOPED_TRACE("max_message " + std::to_string(max));
    const ScopedName name("p-packed-" + std::to_string(max));
    auto a = Pipe::create(name, {.capacity = kRingOf4, .max_message = max});
    auto b = Pipe::open(name);
    for (int lap = 0; lap < 3; ++lap) {
      for (Pipe* from : {&a, &b}) {
        Pipe& to = from == &a ? b : a;
        for (std::uint32_t i = 0; i < kRingOf4; ++i) {
          ASSERT_EQ(from->try_send(span_of(patterned(max, lap, i))), QueueStatus::ok);
        }
        ASSERT_EQ(from->try_send(span_of(patterned(max, lap, kRingOf4))), QueueStatus::full);
        std::vector<std::byte> got;
        for (std::uint32_t i = 0; i < kRingOf4; ++i) {
          ASSERT_EQ(to.try_recv(got), QueueStatus::ok);
          EXPECT_EQ(got, patterned(max, lap, i)) << "lap " << lap << ", message " << i;
        }
      }
    }
    for (std::uint32_t i = 0; i < kRingOf4; ++i) {
      const std::span<std::byte> slot = a.try_reserve();
      ASSERT_EQ(slot.size(), max);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(slot.data()) % 16, 0u) << "slot " << i;  // NOLINT
      a.commit(0);
      const auto m = b.try_peek();
      ASSERT_TRUE(m.has_value());
      b.release();
    }
  }
}

std::span<const std::byte> bytes(const std::string& text) { return std::as_bytes(std::span(text)); }

// Misused zero-copy calls are a std::logic_error, and lose or invent no
// message.
// A receive into the caller's buffer: each message at the buffer's start
// and its size; one too large for the buffer is refused and kept for the
// next receive; the waiting forms report a timeout and a close as the
// resizing ones do.
TEST(Pipe, ReceivesIntoACallersBufferAndKeepsAMessageTooLargeForIt) {
  const ScopedName name("p-into");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 100});
  auto b = Pipe::open(name);
  std::array<std::byte, 64> small{};
  std::array<std::byte, 128> large{};
  std::size_t length = 99;
  EXPECT_EQ(b.try_recv(small, length), QueueStatus::empty);
  EXPECT_EQ(b.recv_for(small, length, 10ms), QueueStatus::timed_out);
  EXPECT_EQ(length, 99u);  // untouched while nothing came
  const std::string hello = "hello";
  const std::string hundred(100, 'h');
  ASSERT_EQ(a.try_send(std::as_bytes(std::span(hello))), QueueStatus::ok);
  ASSERT_EQ(a.try_send({}), QueueStatus::ok);
  ASSERT_EQ(a.try_send(std::as_bytes(std::span(hundred))), QueueStatus::ok);
  ASSERT_EQ(b.try_recv(small, length), QueueStatus::ok);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(small.data()), length),  // NOLINT
            "hello");
  ASSERT_EQ(b.recv(small, length), QueueStatus::ok);
  EXPECT_EQ(length, 0u);
  EXPECT_EQ(test::thrown_by([&] { (void)b.try_recv(small, length); }).code,
            test::code_of(Errc::message_too_large));
  EXPECT_EQ(test::thrown_by([&] { (void)b.recv_for(small, length, 10ms); }).code,
            test::code_of(Errc::message_too_large));
  ASSERT_EQ(b.recv_for(large, length, 10ms), QueueStatus::ok);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(large.data()), length),  // NOLINT
            hundred);
  EXPECT_EQ(b.try_recv(large, length), QueueStatus::empty);
  a.close();
  EXPECT_EQ(b.recv(large, length), QueueStatus::closed);
}

TEST(Pipe, ZeroCopyMisuseIsALogicErrorAndLosesNothing) {
  const ScopedName name("p-zc-misuse");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  EXPECT_THROW(b.release(), std::logic_error);  // nothing peeked
  EXPECT_THROW(a.commit(3), std::logic_error);  // nothing reserved
  std::string got;
  EXPECT_EQ(b.try_recv(got), QueueStatus::empty);
  ASSERT_EQ(a.try_send(bytes("m0")), QueueStatus::ok);
  ASSERT_FALSE(a.try_reserve().empty());
  EXPECT_THROW((void)a.try_reserve(), std::logic_error);
  EXPECT_THROW((void)a.try_send(bytes("m1")), std::logic_error);
  a.commit(0);  // the reserved slot, as an empty message
  ASSERT_TRUE(b.try_peek().has_value());
  ASSERT_EQ(b.try_peek()->size(), 2u);  // the same one again
  EXPECT_EQ(std::memcmp(b.try_peek()->data(), "m0", 2), 0);
  ASSERT_EQ(b.try_recv(got), QueueStatus::ok);  // a recv takes the held message
  EXPECT_EQ(got, "m0");
  EXPECT_THROW(b.release(), std::logic_error);  // and nothing is held any more
  ASSERT_TRUE(b.try_peek().has_value());
  b.release();
  EXPECT_THROW(b.release(), std::logic_error);
  EXPECT_EQ(b.try_recv(got), QueueStatus::empty);  // the empty message was released
}

// close(): this end sends nothing more, so a receiver told `closed` never
// gets a message after it. A slot reserved before the close is given up.
TEST(Pipe, AfterCloseThisEndSendsNothingMore) {
  const ScopedName name("p-closed-end");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 8});
  auto b = Pipe::open(name);
  ASSERT_EQ(a.try_send(bytes("m0")), QueueStatus::ok);
  ASSERT_FALSE(a.try_reserve().empty());
  EXPECT_FALSE(a.closed());
  a.close();
  EXPECT_TRUE(a.closed());
  EXPECT_TRUE(b.closed());
  EXPECT_EQ(test::thrown_by([&] { a.commit(1); }).code, test::code_of(Errc::closed));
  EXPECT_EQ(a.try_send(bytes("late")), QueueStatus::closed);
  EXPECT_EQ(a.send_for(bytes("late"), 0ms), QueueStatus::closed);
  EXPECT_EQ(a.send(bytes("late")), QueueStatus::closed);
  EXPECT_TRUE(a.try_reserve().empty());
  EXPECT_EQ(test::thrown_by([&] { (void)a.try_send(bytes("too long!")); }).code,
            test::code_of(Errc::message_too_large));
  std::string got;
  ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "m0");
  EXPECT_EQ(b.try_recv(got), QueueStatus::closed);
  EXPECT_EQ(b.try_send(bytes("x")), QueueStatus::closed);  // its peer closed
}

TEST(Pipe, PeerCloseDrainsThenReportsClosed) {
  const ScopedName name("p-close");
  auto a = Pipe::create(name, {.capacity = 8, .max_message = 8});
  const pid_t child = test::fork_child([&] {
    auto b = Pipe::open(name);
    for (int i = 0; i < 5; ++i) {
      const std::string m = std::to_string(i);
      check_in_child(b.send(std::as_bytes(std::span(m))) == QueueStatus::ok, "send");
    }
    b.close();
  });
  std::string got;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::ok);
    EXPECT_EQ(got, std::to_string(i));
  }
  EXPECT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::closed);
  EXPECT_EQ(a.try_recv(got), QueueStatus::closed);
  EXPECT_TRUE(a.poll(0ms));
  const std::string m = "late";
  EXPECT_EQ(a.send(std::as_bytes(std::span(m))), QueueStatus::closed);
  EXPECT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::closed);
  EXPECT_EQ(test::wait_exit_code(child), 0);
}

TEST(Pipe, KilledPeerLetsRecvDrainThenReportClosedAndSendClosed) {
  const ScopedName name("p-killed");
  auto a = Pipe::create(name, {.capacity = 16, .max_message = 8});
  const pid_t child = test::pipe_end_holder(name, {"0", "1", "2", "3", "4", "5", "6"});
  ASSERT_GT(child, 0);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(child), test::kKilled);
  EXPECT_FALSE(a.peer_alive());
  std::string got;
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::ok);
    EXPECT_EQ(got, std::to_string(i));
  }
  EXPECT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::closed);
  // Fill the ring, then a blocking send notices the dead peer.
  const std::string m = "x";
  QueueStatus st{};
  while ((st = a.try_send(std::as_bytes(std::span(m)))) == QueueStatus::ok) {
  }
  EXPECT_EQ(st, QueueStatus::full);
  EXPECT_EQ(a.send_for(std::as_bytes(std::span(m)), test::kGenerous), QueueStatus::closed);
}

TEST(Pipe, RecvBlockedWhenThePeerIsKilledReturnsClosed) {
  const ScopedName name("p-killed-wait");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 8});
  const pid_t child = test::pipe_end_holder(name, {});
  ASSERT_GT(child, 0);
  std::thread killer([&] {
    // Kill once the parent is asleep in recv (or about to be).
    auto* h = reinterpret_cast<detail::PipeHead*>(a.segment().data().data());  // NOLINT
    EXPECT_TRUE(test::eventually([&] { return h->control[1].consumer_waiting.load() != 0; }));
    ::kill(child, SIGKILL);
    EXPECT_EQ(test::wait_exit_code(child), test::kKilled);
  });
  std::string got;
  EXPECT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::closed);
  killer.join();
}

// Runs `op` (a blocking send or recv of `a`) on another thread until it is
// asleep (the waiting flag `flag` picks from a's head is up), closes `a` from
// this thread, and returns what `op` returned. If `op` slept on after the
// close, that is a failure, and the peer `b`'s close ends it so that the
// test can end.
template <class Flag, class Op>
QueueStatus close_while_asleep(Pipe& a, Pipe& b, Flag flag, Op op) {
  QueueStatus result = QueueStatus::ok;
  std::atomic<bool> done{false};
  std::thread blocked([&] {
    result = op();
    done.store(true);
  });
  auto* h = reinterpret_cast<detail::PipeHead*>(a.segment().data().data());  // NOLINT
  EXPECT_TRUE(test::eventually([&] { return flag(*h).load() != 0; }));
  a.close();
  const bool ended = test::eventually([&] { return done.load(); });
  EXPECT_TRUE(ended) << "the blocked call slept on after close()";
  if (!ended) b.close();  // its peer's close ends it in any case
  blocked.join();
  return result;
}

// A send asleep waiting for room is ended by a close() from another thread
// of the same handle (a common way to shut a sender down), and every send
// after it returns closed; the peer drains what was sent, then gets closed.
TEST(Pipe, ACloseFromAnotherThreadEndsASendWaitingForRoom) {
  const ScopedName name("p-close-mt");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(a.try_send(bytes(std::to_string(i))), QueueStatus::ok);
  const QueueStatus blocked = close_while_asleep(
      a, b, [](detail::PipeHead & h) -> auto& { return h.control[0].producer_waiting; },
      [&] { return a.send(bytes("blocked")); });
  EXPECT_EQ(blocked, QueueStatus::closed);
  EXPECT_EQ(a.try_send(bytes("late")), QueueStatus::closed);
  std::string got;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
    EXPECT_EQ(got, std::to_string(i));
  }
  EXPECT_EQ(b.try_recv(got), QueueStatus::closed);
}

// A close() of this end also ends its receiving: the peer's sends return
// closed, so nothing more can come. A recv asleep on another thread returns
// closed (it slept on for good), after what had arrived; so do try_recv and
// poll.
TEST(Pipe, ACloseFromAnotherThreadEndsARecvOfThisEnd) {
  const ScopedName name("p-close-recv");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  ASSERT_EQ(b.try_send(bytes("before")), QueueStatus::ok);
  std::string first;
  ASSERT_EQ(a.recv(first), QueueStatus::ok);
  EXPECT_EQ(first, "before");
  const QueueStatus blocked = close_while_asleep(
      a, b, [](detail::PipeHead & h) -> auto& { return h.control[1].consumer_waiting; },
      [&] {
        std::string got;
        return a.recv(got);
      });
  EXPECT_EQ(blocked, QueueStatus::closed);
  EXPECT_EQ(b.try_send(bytes("late")), QueueStatus::closed);
  std::string got;
  EXPECT_EQ(a.try_recv(got), QueueStatus::closed);
  EXPECT_EQ(a.recv_for(got, 10ms), QueueStatus::closed);
  EXPECT_TRUE(a.poll(0ms));  // recv would not block
}

// What had arrived before this end's close() is still received, then closed.
TEST(Pipe, AClosedEndReceivesWhatHadArrivedThenClosed) {
  const ScopedName name("p-close-drain");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  ASSERT_EQ(b.try_send(bytes("one")), QueueStatus::ok);
  ASSERT_EQ(b.try_send(bytes("two")), QueueStatus::ok);
  a.close();
  std::string got;
  ASSERT_EQ(a.recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "one");
  ASSERT_EQ(a.try_recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "two");
  EXPECT_EQ(a.recv(got), QueueStatus::closed);
}

// An end let go (its handle closed and destroyed) is free again: open() takes
// it, and the pipe works again between the survivor and the new holder.
TEST(Pipe, AnEndLetGoIsTakenByTheNextOpenAndThePipeWorksAgain) {
  const ScopedName name("p-reuse");
  std::optional<Pipe> a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  EXPECT_EQ(b.end(), 1);
  a.reset();  // the creator lets end 0 go
  std::string got;
  EXPECT_EQ(b.recv(got), QueueStatus::closed);
  EXPECT_TRUE(b.closed());
  auto c = Pipe::open(name);
  EXPECT_EQ(c.end(), 0);
  EXPECT_FALSE(b.closed());
  ASSERT_EQ(c.send(bytes("again")), QueueStatus::ok);
  ASSERT_EQ(b.recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "again");
}

// Waits shorter than the dead-peer check interval still notice a dead peer:
// each one looks at its deadline (at most once per interval), so a loop on
// short timeouts ends with closed instead of timing out for ever.
TEST(Pipe, WaitsShorterThanTheCheckIntervalNoticeADeadPeer) {
  const ScopedName name("p-dead-short");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 8});
  const pid_t child = test::pipe_end_holder(name, {"last"});
  ASSERT_GT(child, 0);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(child), test::kKilled);
  std::string got;
  ASSERT_EQ(a.recv_for(got, 5ms), QueueStatus::ok);
  EXPECT_EQ(got, "last");
  EXPECT_EQ(a.recv_for(got, 5ms), QueueStatus::closed);
  EXPECT_TRUE(a.poll(0ms));
  QueueStatus st{};
  while ((st = a.try_send(bytes("x"))) == QueueStatus::ok) {
  }
  ASSERT_EQ(st, QueueStatus::full);
  // The look is at most once per interval: within a few short waits.
  QueueStatus sent = QueueStatus::timed_out;
  for (int i = 0; i < 100 && sent == QueueStatus::timed_out; ++i)
    sent = a.send_for(bytes("x"), 5ms);
  EXPECT_EQ(sent, QueueStatus::closed);
}

// The sending and the receiving thread of one handle may both reach their
// deadlines at once: their looks at the peer share the handle's hints (TSan
// checks that they do so without a data race). A live peer is never closed.
TEST(Pipe, SenderAndReceiverThreadsTimingOutTogetherSeeALivePeer) {
  const ScopedName name("p-short-mt");
  auto a = Pipe::create(name, {.capacity = 2, .max_message = 8});
  auto b = Pipe::open(name);
  while (a.try_send(bytes("x")) == QueueStatus::ok) {
  }
  int sends_timed_out = 0;
  int recvs_timed_out = 0;
  std::thread sender([&] {
    for (int i = 0; i < 50; ++i)
      sends_timed_out += a.send_for(bytes("y"), 1ms) == QueueStatus::timed_out;
  });
  std::string got;
  for (int i = 0; i < 50; ++i) recvs_timed_out += a.recv_for(got, 1ms) == QueueStatus::timed_out;
  sender.join();
  EXPECT_EQ(sends_timed_out, 50);
  EXPECT_EQ(recvs_timed_out, 50);
  EXPECT_TRUE(b.peer_alive());
}

TEST(Pipe, ThirdOpenFailsWhileBothEndsAreLiveAndDeadEndIsTakenOver) {
  const ScopedName name("p-ends");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 8});
  const pid_t holder = test::pipe_end_holder(name, {"from-old"});
  ASSERT_GT(holder, 0);
  EXPECT_EQ(test::thrown_by([&] { (void)Pipe::open(name); }).code,
            test::code_of(Errc::already_exists));
  ASSERT_EQ(::kill(holder, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(holder), test::kKilled);
  // The dead holder's end is taken over, where it stopped.
  auto b = Pipe::open(name);
  EXPECT_EQ(b.end(), 1);
  EXPECT_TRUE(b.peer_alive());
  EXPECT_TRUE(a.peer_alive());
  std::string got;
  ASSERT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::ok);
  EXPECT_EQ(got, "from-old");
  const std::string m = "from-new";
  ASSERT_EQ(b.send(std::as_bytes(std::span(m))), QueueStatus::ok);
  ASSERT_EQ(a.recv_for(got, test::kGenerous), QueueStatus::ok);
  EXPECT_EQ(got, "from-new");
  const std::string r = "reply";
  ASSERT_EQ(a.send(std::as_bytes(std::span(r))), QueueStatus::ok);
  ASSERT_EQ(b.recv_for(got, test::kGenerous), QueueStatus::ok);
  EXPECT_EQ(got, "reply");
  EXPECT_EQ(test::thrown_by([&] { (void)Pipe::open(name); }).code,
            test::code_of(Errc::already_exists));
}

TEST(Pipe, CorruptedSlotLengthIsReportedNeverAWildRead) {
  const ScopedName name("p-corrupt");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  const Segment raw = Segment::open(name, any_kind());
  auto& head = *reinterpret_cast<detail::PipeHead*>(raw.data().data());  // NOLINT: layout
  auto slot = [&](int ring, std::uint64_t i) -> detail::QueueSlot& {
    return *reinterpret_cast<detail::QueueSlot*>(  // NOLINT: layout
        raw.data().data() + head.ring_offset[ring] + i * head.slot_size);
  };
  const std::string m = "abc";
  ASSERT_EQ(a.send(std::as_bytes(std::span(m))), QueueStatus::ok);
  slot(0, 0).length.store(17);
  std::string got;
  EXPECT_EQ(test::thrown_by([&] { (void)b.try_recv(got); }).code, test::code_of(Errc::corrupt));
  EXPECT_EQ(test::thrown_by([&] { (void)b.try_peek(); }).code, test::code_of(Errc::corrupt));
  slot(0, 0).length.store(0xffffffffu);
  EXPECT_EQ(test::thrown_by([&] { (void)b.recv_for(got, 10ms); }).code,
            test::code_of(Errc::corrupt));
  // Garbage sequence numbers: outcomes, never a wild access.
  std::uint64_t x = 99;
  for (int i = 0; i < 50; ++i) {
    x = test::mix(x);
    slot(static_cast<int>(x & 1), (x >> 1) % 4).seq.store(x >> (x % 64));
    slot(static_cast<int>(x & 1), (x >> 3) % 4)
        .length.store(static_cast<std::uint32_t>(x >> 7) % 20);
    const test::Thrown t = test::thrown_by([&] {
      (void)a.try_send(std::as_bytes(std::span(m)));
      (void)b.try_recv(got);
      (void)a.try_recv(got);
      (void)b.try_send(std::as_bytes(std::span(m)));
      (void)b.recv_for(got, 1ms);
    });
    EXPECT_TRUE(!t.code || t.code == test::code_of(Errc::corrupt)) << t.message;
  }
}

TEST(Pipe, CorruptedReceiverPositionIsReportedOnceTheSenderNeedsIt) {
  const ScopedName name("p-corrupt-pos");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  const Segment raw = Segment::open(name, any_kind());
  auto& head = *reinterpret_cast<detail::PipeHead*>(raw.data().data());  // NOLINT: layout
  const std::string m = "abc";
  for (int i = 0; i < 4; ++i) ASSERT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::ok);
  EXPECT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::full);
  for (const std::uint64_t bad : {std::uint64_t{5}, ~std::uint64_t{0}}) {  // ahead; a ring behind
    head.control[0].head.store(bad);
    EXPECT_EQ(test::thrown_by([&] { (void)a.try_send(std::as_bytes(std::span(m))); }).code,
              test::code_of(Errc::corrupt));
    EXPECT_EQ(test::thrown_by([&] { (void)a.send_for(std::as_bytes(std::span(m)), 10ms); }).code,
              test::code_of(Errc::corrupt));
  }
  // Put right, the pipe works again: the receiver frees a slot, the sender fills it.
  head.control[0].head.store(0);
  std::string got;
  ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
  EXPECT_EQ(got, "abc");
  EXPECT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::ok);
  EXPECT_EQ(head.control[0].producer_waiting.load(), 0u);
}

TEST(Pipe, AReceiverPositionOverwrittenBehindIsPutRightWhenTheReceiverWaits) {
  const ScopedName name("p-corrupt-behind");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  const Segment raw = Segment::open(name, any_kind());
  auto& head = *reinterpret_cast<detail::PipeHead*>(raw.data().data());  // NOLINT: layout
  const std::string m = "abc";
  std::string got;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::ok);
    ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
  }
  // All four taken, but the published head says none: the ring looks full
  // to the sender while the receiver finds it empty.
  head.control[0].head.store(0);
  EXPECT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::full);
  // A receiver about to wait puts its head right.
  EXPECT_EQ(b.recv_for(got, 10ms), QueueStatus::timed_out);
  EXPECT_EQ(head.control[0].head.load(), 4u);
  const std::string next = "next";
  ASSERT_EQ(a.try_send(std::as_bytes(std::span(next))), QueueStatus::ok);
  ASSERT_EQ(b.recv_for(got, test::kGenerous), QueueStatus::ok);
  EXPECT_EQ(got, "next");
}

TEST(Pipe, ASenderPastTheReceiversPositionIsReportedWhenTheReceiverWaits) {
  const ScopedName name("p-corrupt-lapped");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  auto b = Pipe::open(name);
  const Segment raw = Segment::open(name, any_kind());
  auto& head = *reinterpret_cast<detail::PipeHead*>(raw.data().data());  // NOLINT: layout
  const std::string m = "abc";
  std::string got;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::ok);
  ASSERT_EQ(b.try_recv(got), QueueStatus::ok);
  // The head says three taken where one was: the sender reuses the slots
  // of positions 0 and 1 for positions 4 and 5, and the receiver, at
  // position 1, finds position 5's message there, which it can never take.
  head.control[0].head.store(3);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(a.try_send(std::as_bytes(std::span(m))), QueueStatus::ok);
  EXPECT_EQ(b.try_recv(got), QueueStatus::empty);  // a polling look does not check
  EXPECT_EQ(test::thrown_by([&] { (void)b.recv_for(got, 10ms); }).code,
            test::code_of(Errc::corrupt));
  EXPECT_EQ(test::thrown_by([&] { (void)b.poll(10ms); }).code, test::code_of(Errc::corrupt));
}

TEST(Pipe, CorruptedHeadIsRejectedAtOpen) {
  const ScopedName name("p-corrupt-head");
  auto a = Pipe::create(name, {.capacity = 4, .max_message = 16});
  const Segment raw = Segment::open(name, any_kind());
  auto& head = *reinterpret_cast<detail::PipeHead*>(raw.data().data());  // NOLINT: layout
  const std::uint64_t good = head.ring_offset[1];
  head.ring_offset[1] = raw.data().size();
  EXPECT_EQ(test::thrown_by([&] { (void)Pipe::open(name); }).code, test::code_of(Errc::corrupt));
  // The failed open did not keep the free end.
  head.ring_offset[1] = good;
  auto b = Pipe::open(name);
  EXPECT_EQ(b.end(), 1);
}

}  // namespace
}  // namespace shmkit
