#pragma once

#include <string>

#include "harness/context.hpp"

// The Python multiprocessing peer: one repetition runs bench/python/mp_peer.py
// (embedded at configure time) in the system's python3, whose own processes
// are pinned to the CPUs of roles 0 and 1, and records the figures it prints.
// A failed check in Python, a crash, malformed output or a run past the
// watchdog is a CaseFailure carrying the script's stderr.

namespace shmkit::bench {

// The python3 found on PATH; throws CaseSkipped("python3 not found") if none.
const std::string& require_python3();

// Manager().list(): a writer appends 0, 1, 2..., a reader polls len() and
// verifies each item; records metrics::kItemsPerSecond.
void python_list_rep(Context& ctx, const std::string& system);

// multiprocessing.Queue, 64-byte verified messages; records metrics::kMsgs64.
void python_queue_rep(Context& ctx, const std::string& system);

// multiprocessing.Pipe(), 64-byte verified ping-pong; records metrics::kOneWay*.
void python_pipe_rep(Context& ctx, const std::string& system);

}  // namespace shmkit::bench
