#pragma once

// Asymmetric memory fences between processes, from membarrier(2).
//
// A Dekker-style hand-off (one side stores its data and then loads the
// other's "I am going to sleep" flag; the other stores the flag and then
// loads the data) needs a full fence between the store and the load on both
// sides, on every message. On x86 that fence waits for the store to reach the
// cache, which for a line the peer has just read is a cross-core round trip.
// With membarrier the busy side uses no fence at all (only a compiler
// barrier), and the side about to sleep, which is about to make a system
// call anyway, calls remote_fence(): the kernel makes every thread of every
// registered process run a full barrier, so either the busy side's store is
// visible to the sleeper's re-check, or the busy side's load sees the flag.
//
// A process is registered by the first call to light_fences(), and again in
// a forked child (registration is per address space and a child starts
// without it). Where membarrier is missing or refused (old kernels, seccomp),
// light_fences() is false and callers use seq_cst operations instead.

namespace shmkit::platform {

// True if this process is registered, so that its threads may pair a plain
// store-then-load with a peer's remote_fence(). Registers on the first call.
bool light_fences() noexcept;

// A full memory barrier on every running thread of every registered process
// (MEMBARRIER_CMD_GLOBAL_EXPEDITED). False if the kernel refused it.
bool remote_fence() noexcept;

// Tests only: from now on light_fences() is false in this process, so the
// seq_cst fallback is exercised.
void disable_light_fences_for_testing() noexcept;

}  // namespace shmkit::platform
