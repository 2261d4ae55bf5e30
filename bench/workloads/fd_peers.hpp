#pragma once

#include <string>

#include "harness/context.hpp"

// Peers that move messages through the kernel by file descriptor: pipe(2) and
// Unix-domain sockets. 64-byte messages (workloads/message64.hpp) carry a
// sequence number and a check word that the receiver verifies. Reusable by a later case that
// compares shmkit's Pipe or Queue with them, interleaved.

namespace shmkit::bench {

enum class FdTransport { pipe, unix_stream, unix_seqpacket };

// Ping-pong of one 64-byte message: records metrics::kOneWay* (round trip / 2).
void fd_pingpong_rep(Context& ctx, const std::string& system, FdTransport transport);

// One writer sends 64-byte messages, one write(2) each, as fast as it can; the
// reader drains them (whole buffers at a time where the transport is a byte
// stream, one message per recv for seqpacket) and verifies each. Records
// metrics::kMsgs64: messages received per second.
void fd_throughput_rep(Context& ctx, const std::string& system, FdTransport transport);

}  // namespace shmkit::bench
