#pragma once

#include <cstdint>

#include <CLI/CLI.hpp>

// CLI11 validators shared by the subcommands. Each checks the text of an
// option and replaces it with the plain number the option stores; the message
// of a rejected value is a usage error (exit 2). Thread-safe (no state).

namespace shmkit::cli {

// A byte count like 4096, 64K, 1M (format.hpp's parse_size), at least 1.
CLI::Validator size_validator();

// Octal permission bits like 600 or 0644 (format.hpp's parse_mode).
CLI::Validator mode_validator();

// A whole number from `min` to `max`, like 0, 5 or 10000.
CLI::Validator count_validator(std::uint64_t min, std::uint64_t max);

// Seconds as a decimal number like 0, 0.05 or 2.5: finite, >= 0, at most
// kMaxSeconds (format.hpp's parse_seconds).
CLI::Validator seconds_validator();

// Any text but the empty one (a path: an empty value from an unset shell
// variable must not mean "the default").
CLI::Validator non_empty_validator();

}  // namespace shmkit::cli
