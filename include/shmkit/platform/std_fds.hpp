#pragma once

// A command-line program's standard streams and SIGPIPE (platform layer), for
// the shmkit tool. Not thread-safe: main calls occupy_closed_std_fds() and
// ignore_sigpipe() first, before any thread starts and before anything opens
// a file.

namespace shmkit::platform {

// Occupies each of fds 0, 1 and 2 that is closed with /dev/null, opened so
// that the closed direction still fails: fd 0 write-only (a read is EBADF),
// fds 1 and 2 read-only (a write is EBADF). Otherwise the next file the tool
// opens (the signal self-pipe, a shared-memory file) would land there: put
// would read its own self-pipe as stdin, and a write to stdout could go into
// a shared-memory object. Returns false if one stayed closed (no /dev/null):
// the tool must not go on.
bool occupy_closed_std_fds() noexcept;

// Ignores SIGPIPE: a write to a pipe whose reader has gone fails with EPIPE,
// so a command says what it lost and leaves its objects as it should, instead
// of dying silently (exit 141) and staying listed as attached to them.
void ignore_sigpipe() noexcept;

// Whether SIGPIPE was ignored when shmkit started (before ignore_sigpipe()):
// processes that shmkit starts ('lock' COMMAND, demo's children) get back the
// action shmkit was started with.
bool sigpipe_ignored_at_start() noexcept;

// In a forked child: SIGPIPE's action as it was when the program started
// (the default, unless it was ignored), so that the child dies of a write to
// a closed pipe as any program would.
void restore_start_sigpipe() noexcept;

}  // namespace shmkit::platform
