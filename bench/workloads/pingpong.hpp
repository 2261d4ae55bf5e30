#pragma once

#include <string>

#include "harness/context.hpp"

// The hardware floors for a hand-off between two processes on two CPUs.
// Each function runs one repetition (two pinned processes) and records
// metrics::kOneWay* (round trip / 2) under `system`. Reusable by any case
// that wants a floor measured interleaved with what it compares.

namespace shmkit::bench {

// Raw cache-line ping-pong: each side spins on the other's line and answers
// with the sequence number it read (no pause instruction, no syscall).
void cacheline_pingpong_rep(Context& ctx, const std::string& system);

// The same over one cache line that both sides write: each waits for the word
// to move, then writes the next value into the line it has just fetched.
// About 0.7x of the two-line figure on the 2-vCPU VM measured (90 against
// 133 ns): the floor for one token passed back and forth. A channel per
// direction, such as a Pipe's two rings, has the two-line pattern above: its
// receiver polls a line that only the sender writes.
void cacheline_token_rep(Context& ctx, const std::string& system);

// Futex ping-pong: the same hand-off, but each side sleeps in FUTEX_WAIT on
// its word and the other always calls FUTEX_WAKE: the floor for a sleeping
// hand-off.
void futex_pingpong_rep(Context& ctx, const std::string& system);

}  // namespace shmkit::bench
