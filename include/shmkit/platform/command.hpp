#pragma once

// Running another program and waiting for it, as system(3) does (platform
// layer), for the shmkit tool's `lock`.

#include <string>
#include <vector>

namespace shmkit::platform {

// What became of a command: its exit status, 128+N if signal N ended it, 127
// if it could not be started, or 1 if waiting for it failed; and in the last
// two cases, why (else empty).
struct CommandResult {
  int status = 0;
  std::string error;
};

// Runs argv (argv[0] searched in PATH) with this process's stdin, stdout,
// stderr and environment, and waits for it. While it runs, this process
// ignores SIGINT and SIGQUIT, which a terminal sends to the command too, and
// forwards SIGTERM and SIGHUP to it; so the command ends first, whatever
// comes. The command starts with no signal blocked and the dispositions this
// process was given (an ignored signal stays ignored; SIGPIPE as at start,
// std_fds.hpp). Not thread-safe: one command at a time, from one thread.
CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace shmkit::platform
