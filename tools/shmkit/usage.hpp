#pragma once

#include <cstddef>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

// Usage errors of the shmkit CLI: turns the error CLI11 threw into the one line
// that names what is wrong with the command line, and the command whose help
// the hint line names. Not thread-safe: one object watches one parse.

namespace shmkit::cli {

struct UsageError {
  std::string message;  // without the "shmkit: " prefix
  std::string command;  // like "shmkit queue create": the hint is its --help
};

// Precedence, whatever CLI11 threw: an unknown option or argument first (in
// command-line order), then an option given more than once, then CLI11's own
// message (a missing or malformed argument).
class UsageErrors {
 public:
  // After every subcommand is added and before parse(): sets the
  // preparse_callback of each subcommand, at any depth.
  explicit UsageErrors(CLI::App& root);
  UsageErrors(const UsageErrors&) = delete;
  UsageErrors& operator=(const UsageErrors&) = delete;

  [[nodiscard]] UsageError explain(const CLI::ParseError& error) const;

 private:
  void watch(CLI::App& command);
  [[nodiscard]] const CLI::App& command_of_extra(std::size_t index) const;
  [[nodiscard]] UsageError unknown(const std::string& arg, const CLI::App& command) const;

  const CLI::App& root_;
  // How many unknown arguments root held when each subcommand began. The main
  // app sets fallthrough(), so every unknown argument, whichever command it
  // follows, lands in root's list, in command-line order; these counts tell
  // which command each one was given to.
  std::map<const CLI::App*, std::size_t> extras_before_;
};

}  // namespace shmkit::cli
