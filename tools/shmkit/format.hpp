#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// Parsing and formatting helpers of the shmkit CLI: sizes, modes, times,
// error codes and aligned text tables. Pure functions; thread-safe.

namespace shmkit::cli {

// "4096", "64K", "1M", "1G", "1T" (suffixes are powers of 1024, either case).
// Returns the byte count, or nullopt and sets `why` if `text` is not one of
// those or the count is 0 or does not fit 64 bits.
std::optional<std::uint64_t> parse_size(std::string_view text, std::string& why);

// "600", "0644": octal permission bits within 0777. As parse_size.
std::optional<std::uint32_t> parse_mode(std::string_view text, std::string& why);

// Seconds for a timeout or an interval: "0", "2", "0.05", ".5". Returns the
// count, or nullopt and sets `why` if `text` is not a plain decimal number
// (no sign, exponent, inf or nan) or exceeds kMaxSeconds.
inline constexpr double kMaxSeconds = 1e9;  // about 31 years
std::optional<double> parse_seconds(std::string_view text, std::string& why);

// 0600 -> "0600".
std::string format_mode(std::uint32_t mode);

// ISO 8601 in UTC with nanoseconds: "2024-05-01T12:34:56.123456789Z".
std::string format_utc(std::chrono::system_clock::time_point time);

// A stable snake_case name of an error: "not_found", "corrupt"... for shmkit's
// codes, the errno name's message otherwise.
std::string error_name(const std::error_code& ec);

// A table printed with its columns aligned; numeric columns align right.
class Table {
 public:
  enum class Align { left, right };
  struct Column {
    std::string title;
    Align align = Align::left;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // One cell per column; `note`, if any, follows the last column unaligned.
  void add_row(std::vector<std::string> cells, std::string note = {});
  void print(std::ostream& out) const;

 private:
  struct Row {
    std::vector<std::string> cells;
    std::string note;
  };
  std::vector<Column> columns_;
  std::vector<Row> rows_;
};

}  // namespace shmkit::cli
