#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "options.hpp"
#include "shmkit/platform/command.hpp"
#include "shmkit/sync/mutex.hpp"

// shmkit lock NAME [--timeout SECONDS] [--mode OCTAL] -- COMMAND [ARGS...]
//
// The shared-memory counterpart of flock(1): holds the named Mutex (created
// if absent) while COMMAND runs, and passes its exit status through. The lock
// is held by this process's thread; if this process is killed while holding
// it, the next locker takes it over (owner_died) and says so on stderr.

namespace shmkit::cli {
namespace {

struct LockOptions {
  std::string name;
  double timeout = 0;
  bool has_timeout = false;
  std::uint32_t mode = 0600;
  std::vector<std::string> command;
};

std::string seconds_text(double seconds) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%g", seconds);
  return buf.data();
}

// The thread holding the mutex as recorded in its word (for a single-threaded
// holder such as `shmkit lock`, its pid).
ProcessIdentity holder_of(std::uint64_t word) { return ProcessIdentity::unpack(word); }

// Runs the command (platform/command.hpp) and passes its status through, or
// says why it could not run or be waited for.
int run_command(const std::vector<std::string>& argv, const std::string& lock_name) {
  const platform::CommandResult result = platform::run_command(argv);
  if (!result.error.empty()) print_error("lock '" + lock_name + "': " + result.error);
  return result.status;
}

int run_lock(const LockOptions& options, const GlobalOptions& global) {
  SegmentOptions segment_options;
  segment_options.directory = global.directory;
  segment_options.mode = options.mode;
  Mutex mutex = Mutex::open_or_create(options.name, segment_options);
  // The holder before we wait: if we take the lock over, most likely the one
  // that died (a holder that changes while we wait is reported generically).
  const std::uint64_t before = mutex.state().owner.load(std::memory_order_relaxed);
  const LockResult result = options.has_timeout
                                ? mutex.lock_for(std::chrono::duration<double>(options.timeout))
                                : mutex.lock();
  if (result == LockResult::timed_out) {
    const std::uint64_t holder = mutex.state().owner.load(std::memory_order_relaxed);
    std::string why =
        "lock '" + options.name + "': not acquired within " + seconds_text(options.timeout) + " s";
    if (holder != 0) {
      why += " (held by pid " + std::to_string(holder_of(holder).pid) + ")";
    }
    print_error(why);
    return kExitFailure;
  }
  if (result == LockResult::owner_died) {
    const bool known = before != 0 && !is_alive(holder_of(before));
    print_error("lock '" + options.name + "': took over from " +
                (known ? "dead owner pid " + std::to_string(holder_of(before).pid)
                       : std::string("a dead owner")) +
                " (it died holding the lock)");
  }
  // Released however run_command ends, a throw included.
  const std::unique_ptr<Mutex, void (*)(Mutex*)> held(&mutex, [](Mutex* m) { m->unlock(); });
  return run_command(options.command, options.name);
}

}  // namespace

Command add_lock_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<LockOptions>();
  CLI::App* app = main_app.add_subcommand(
      "lock",
      "Run a command while holding the named mutex NAME (created if absent), like flock(1), "
      "and exit with the command's status.");
  app->add_option("NAME", options->name, "Mutex name (created with --mode if absent)")
      ->type_name("")
      ->required();
  CLI::Option* timeout =
      app->add_option("--timeout", options->timeout,
                      "Give up if the lock is not had within SECONDS, like 0.5 (default: wait "
                      "as long as it takes)")
          ->transform(seconds_validator())
          ->type_name("SECONDS");
  app->add_option("--mode", options->mode,
                  "Permission bits in octal if the mutex is created (default 0600)")
      ->transform(mode_validator())
      ->type_name("OCTAL");
  app->add_option("COMMAND", options->command,
                  "The command and its arguments; put them after '--' so that their options "
                  "are not taken for shmkit's")
      ->type_name("")
      ->required();
  app->callback([options, timeout] { options->has_timeout = timeout->count() > 0; });
  app->footer(
      "Usage: shmkit lock NAME [--timeout SECONDS] -- COMMAND [ARGS...]\n"
      "COMMAND is searched in PATH and inherits stdin, stdout and stderr; shmkit holds the\n"
      "lock until it ends (ignoring SIGINT and SIGQUIT meanwhile, as system(3) does, and\n"
      "forwarding SIGTERM and SIGHUP to it), then releases it. Unlike flock(1), the lock is\n"
      "shmkit's, not a file descriptor's: if shmkit itself is killed (SIGKILL), the next\n"
      "locker takes the lock over while COMMAND may still run.\n"
      "If the previous holder died holding the lock, it is taken over, with one line on\n"
      "stderr: \"shmkit: lock 'NAME': took over from dead owner pid N ...\".\n"
      "Exit status: COMMAND's own; 128+N if signal N ended it; 127 if it could not be run;\n"
      "1 if the lock was not had within --timeout (or NAME is not a mutex, or another\n"
      "error); 2 for a usage error such as a missing COMMAND.");
  return {app, [options, &global] { return run_lock(*options, global); }};
}

}  // namespace shmkit::cli
