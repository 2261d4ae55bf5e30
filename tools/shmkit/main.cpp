#include <cerrno>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "options.hpp"
#include "shmkit/error.hpp"
#include "shmkit/platform/shm_file.hpp"
#include "shmkit/platform/std_fds.hpp"
#include "usage.hpp"

// shmkit: the command-line tool. Parses the command line (CLI11), runs one
// subcommand, and maps every outcome to an exit code: 0 ok, 1 runtime error
// (one line on stderr), 2 usage error.

#ifndef SHMKIT_VERSION
#error "SHMKIT_VERSION must be defined by the build"
#endif

namespace shmkit::cli {

void print_error(const std::string& message) { std::cerr << "shmkit: " << message << '\n'; }

namespace {

constexpr const char* kFooter =
    "Objects: the object NAME is the file DIR/shmkit.NAME; names are 1 to 200 of\n"
    "A-Z a-z 0-9 . _ - and an invalid one is a runtime error (exit 1), like any other\n"
    "problem with an object. Put a NAME that begins with '-' after '--'.\n"
    "Directory: --dir DIR, else $SHMKIT_DIR if set and not empty, else /dev/shm.\n"
    "Exit codes: 0 ok; 1 runtime error (one line on stderr naming the object and the\n"
    "problem); 2 usage error (unknown command or option, missing or malformed argument).\n"
    "Except: 'shmkit lock' exits with its command's status, and 'shmkit demo', 'put' and\n"
    "'get' with 128+N when signal N (SIGINT, SIGTERM, SIGHUP) stops them (see their --help).\n"
    "Output to a pipe whose reader has gone (like 'head') is a runtime error, not SIGPIPE.\n"
    "Run 'shmkit COMMAND --help' for each command's options.";

int run(int argc, char** argv) {
  CLI::App app(
      "Create, list, inspect and remove shmkit shared-memory objects; lock, queue and demo "
      "commands for shell scripts.",
      "shmkit");
  GlobalOptions global;
  app.set_version_flag("--version", std::string("shmkit ") + SHMKIT_VERSION,
                       "Print the version and exit");
  app.add_option("--dir", global.dir_option,
                 "Object directory (default: $SHMKIT_DIR if set, else /dev/shm); may also "
                 "follow the command")
      ->check(non_empty_validator())
      ->type_name("DIR");
  app.fallthrough();  // so that `shmkit ls --dir DIR` works as well
  app.require_subcommand(0, 1);
  app.footer(kFooter);

  const std::vector<Command> commands{
      add_create_command(app, global), add_ls_command(app, global),   add_stat_command(app, global),
      add_rm_command(app, global),     add_demo_command(app, global), add_lock_command(app, global),
      add_queue_command(app, global),  add_put_command(app, global),  add_get_command(app, global)};

  const UsageErrors usage_errors(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help, --version
    }
    const UsageError usage = usage_errors.explain(e);
    print_error(usage.message);
    std::cerr << "Run '" << usage.command << " --help' for usage.\n";
    return kExitUsage;
  }

  global.directory = platform::resolve_directory(global.dir_option);
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  std::cerr << app.help();
  return kExitUsage;
}

}  // namespace
}  // namespace shmkit::cli

namespace shmkit::cli {
namespace {

// What a command printed must have reached stdout: a full disk or a closed
// pipe is a failure (exit 1), not a success with the output lost.
// A command that failed already said why on its one line.
int finish_stdout(int exit_code) {
  errno = 0;
  std::cout.flush();
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0 || !std::cout.good();
  if (!failed || exit_code != kExitOk) return exit_code;
  print_error(errno != 0 ? "writing to stdout: " + errno_to_error_code(errno).message()
                         : std::string("writing to stdout failed: output was lost"));
  return kExitFailure;
}

}  // namespace
}  // namespace shmkit::cli

int main(int argc, char** argv) {
  // Before anything opens a file, so that none lands on a closed 0, 1 or 2.
  if (!shmkit::platform::occupy_closed_std_fds()) {
    shmkit::cli::print_error("cannot open /dev/null in place of a closed stdin, stdout or stderr");
    return shmkit::cli::kExitFailure;
  }
  shmkit::platform::ignore_sigpipe();  // a closed stdout is an error that says what was lost
  int exit_code = shmkit::cli::kExitFailure;
  try {
    exit_code = shmkit::cli::run(argc, argv);
  } catch (const std::exception& e) {
    shmkit::cli::print_error(e.what());
  } catch (...) {
    shmkit::cli::print_error("unexpected error");
  }
  return shmkit::cli::finish_stdout(exit_code);
}
