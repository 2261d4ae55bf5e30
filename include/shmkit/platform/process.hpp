#pragma once

#include <cstdint>
#include <optional>

// Process identity and liveness (platform layer: reads /proc).
//
// A pid alone cannot tell a dead process from a new one that reused its pid,
// so a process is identified by (pid, start time), the start time being the
// `starttime` field of /proc/PID/stat (clock ticks after boot). A zombie counts
// as dead: it will never run again. Thread-safe.

namespace shmkit {

struct ProcessIdentity {
  std::int32_t pid = 0;           // 0: nobody
  std::uint64_t start_ticks = 0;  // /proc/PID/stat field 22

  // Bits of a packed identity: pid in the low 24 (Linux's pid_max is at most
  // 2^22), start ticks in the high 40 (348 years of uptime at 100 Hz).
  static constexpr unsigned kPidBits = 24;
  static constexpr std::uint64_t kPidMask = (std::uint64_t{1} << kPidBits) - 1;

  // The calling process. Re-read after fork(), so a child gets its own.
  // Throws shmkit::Error with the errno if /proc cannot be read (out of file
  // descriptors, say).
  static ProcessIdentity self();
  // The calling process's or thread's own identity (`id`: its pid or thread
  // id; `what` names it in the error), read from /proc; throws as self().
  static ProcessIdentity read_own(std::int32_t id, const char* what);

  // The process `pid` as it is now; nullopt if there is none or it is a zombie.
  static std::optional<ProcessIdentity> of(std::int32_t pid);

  // One 64-bit word, for lock-free use in shared memory; 0 means nobody.
  [[nodiscard]] constexpr std::uint64_t pack() const noexcept {
    return (start_ticks << kPidBits) | (static_cast<std::uint64_t>(pid) & kPidMask);
  }
  static constexpr ProcessIdentity unpack(std::uint64_t word) noexcept {
    return {static_cast<std::int32_t>(word & kPidMask), word >> kPidBits};
  }

  friend bool operator==(const ProcessIdentity& a, const ProcessIdentity& b) noexcept {
    return a.pack() == b.pack();  // compares what survives packing
  }
};

// A process as recorded in a table, and whether it still runs.
struct ProcessStatus {
  ProcessIdentity process;
  bool alive = false;
};

// getpid(): the calling process's pid (after fork(), the child's).
std::int32_t current_pid() noexcept;

// For a forked child: has the kernel SIGKILL it when its parent dies
// (prctl PR_SET_PDEATHSIG), so that a parent killed outright takes its
// children with it. False if the parent, `parent` (its pid), had died
// before the request took hold: the child must then end by itself.
bool die_with_parent(std::int32_t parent) noexcept;

// Ends the calling process at once with exit status `code`, after flushing
// stdout and stderr: no atexit handlers, no destructors, as a forked child
// must end that could otherwise run its parent's.
[[noreturn]] void exit_now(int code) noexcept;

// True while the process named by `who` runs: same pid, same start time, not a
// zombie. A pid of 0 or out of range is not alive. A process whose /proc entry
// exists but cannot be read (the caller is out of file descriptors, /proc is
// mounted with hidepid) counts as alive: never dead unless known dead.
// Processes that share objects must see each other in /proc: one PID
// namespace.
bool is_alive(const ProcessIdentity& who) noexcept;

}  // namespace shmkit
