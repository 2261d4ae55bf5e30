#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "harness/context.hpp"

// The 64-byte message of every case that passes them (shmkit, the bare ring,
// the peers): a sequence number, a check word derived from it and a payload
// filled with its low byte, so that a lost, reordered, torn or shifted
// message fails verify().

namespace shmkit::bench {

struct Message64 {
  std::uint64_t seq;
  std::uint64_t check;  // seq * kCheckMul
  unsigned char payload[48];

  static constexpr std::uint64_t kCheckMul = 0x9e3779b97f4a7c15ULL;
  static constexpr std::uint64_t kStop = ~std::uint64_t{0};

  static Message64 make(std::uint64_t seq) noexcept {
    Message64 m{};
    m.seq = seq;
    m.check = seq * kCheckMul;
    std::memset(m.payload, static_cast<int>(seq & 0xff), sizeof m.payload);
    return m;
  }

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
    return std::as_bytes(std::span(this, 1));
  }

  // CaseFailure unless a message received is `length` = 64 bytes; `who`
  // names the reader.
  static void check_length(std::size_t length, const char* who) {
    if (length != sizeof(Message64)) {
      throw CaseFailure(std::string(who) + ": a message of " + std::to_string(length) +
                        " bytes, expected 64");
    }
  }
  // Its writable bytes, to receive a message into.
  [[nodiscard]] std::span<std::byte> writable_bytes() noexcept {
    return std::as_writable_bytes(std::span(this, 1));
  }

  // The message in `bytes`, which must be exactly 64 bytes; `who` names the
  // reader in the failure.
  static Message64 from(std::span<const std::byte> bytes, const char* who) {
    check_length(bytes.size(), who);
    Message64 m;  // NOLINT(cppcoreguidelines-pro-type-member-init): the copy writes it all
    std::memcpy(&m, bytes.data(), sizeof m);
    return m;
  }

  [[nodiscard]] bool valid(std::uint64_t expected) const noexcept {
    return seq == expected && check == expected * kCheckMul &&
           payload[0] == static_cast<unsigned char>(expected & 0xff) &&
           payload[47] == static_cast<unsigned char>(expected & 0xff);
  }

  // The stop message that ends a stream or a ping-pong: make(kStop).
  [[nodiscard]] bool is_stop() const noexcept { return seq == kStop && valid(kStop); }

  void verify(std::uint64_t expected, const char* who) const {
    if (!valid(expected)) {
      throw CaseFailure(std::string(who) + ": expected message " + std::to_string(expected) +
                        ", got seq " + std::to_string(seq) + " (check " +
                        (check == seq * kCheckMul ? "ok" : "bad") + ")");
    }
  }
};
static_assert(sizeof(Message64) == 64);

}  // namespace shmkit::bench
