#pragma once

#include <string>

#include "harness/context.hpp"

// Wake-up latency: how long a message takes to reach a receiver that is
// asleep in the kernel. The sender leaves a gap between messages (far longer
// than any receiver spins before it sleeps) and stamps each send with now_ns();
// the receiver takes now_ns() as soon as its receive returns, and the sample
// is the difference: one way, no halving, both sides of the comparison built
// the same way. Then the receiver acknowledges on a spinning shared word, so
// the acknowledgement's own latency is never measured.
//
// In a ping-pong (pipe.pingpong_sleep) a prompt reply arrives while the peer
// still spins, so shmkit's blocking recv never sleeps there: this is the fair
// measure of the sleeping path. Records metrics::kOneWay* and kReceiverCpu.

namespace shmkit::bench {

// The receiver's CPU time per message, waiting included: what a stream too
// slow to keep a waiter spinning costs the receiving process.
inline const Metric kReceiverCpu{"receiver cpu", "ns/msg", Better::lower};

// A bare futex: the sender stores the sequence number and calls FUTEX_WAKE;
// the receiver waits in FUTEX_WAIT. The floor for a sleeping hand-off.
void futex_wakeup_rep(Context& ctx, const std::string& system);

// shmkit::Pipe: blocking send and recv (recv spins briefly, then sleeps).
void pipe_wakeup_rep(Context& ctx, const std::string& system);

}  // namespace shmkit::bench
