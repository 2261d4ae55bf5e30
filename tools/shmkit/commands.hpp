#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

// The subcommands of the shmkit CLI. Each add_* function registers its
// subcommand (options and help) on the main app and returns what runs it.
// run() returns the exit code (0 ok, 1 runtime error); shmkit::Error and
// other exceptions it throws are reported by main as one line, exit code 1.

namespace shmkit::cli {

// Exit codes: the whole contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string dir_option;  // --dir, as given
  std::string directory;   // resolved before any command runs
};

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_create_command(CLI::App& main_app, const GlobalOptions& global);
Command add_ls_command(CLI::App& main_app, const GlobalOptions& global);
Command add_stat_command(CLI::App& main_app, const GlobalOptions& global);
Command add_rm_command(CLI::App& main_app, const GlobalOptions& global);
Command add_demo_command(CLI::App& main_app, const GlobalOptions& global);
Command add_lock_command(CLI::App& main_app, const GlobalOptions& global);
// `queue` and its own subcommands (queue create).
Command add_queue_command(CLI::App& main_app, const GlobalOptions& global);
Command add_put_command(CLI::App& main_app, const GlobalOptions& global);
Command add_get_command(CLI::App& main_app, const GlobalOptions& global);

// Prints "shmkit: <message>" on stderr: the one line of a runtime error.
void print_error(const std::string& message);

}  // namespace shmkit::cli
