#include "format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>

#include "shmkit/error.hpp"

namespace shmkit::cli {
namespace {

bool all_digits(std::string_view text, char max_digit) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [max_digit](char c) { return c >= '0' && c <= max_digit; });
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text, std::string& why) {
  why = "size '" + std::string(text) + "' is not a byte count like 4096, 64K, 1M or 1G";
  unsigned shift = 0;
  if (!text.empty()) {
    switch (std::toupper(static_cast<unsigned char>(text.back()))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: break;
    }
    if (shift != 0) text.remove_suffix(1);
  }
  if (!all_digits(text, '9')) return std::nullopt;
  std::uint64_t value = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (const char c : text) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) {
      why += " (too large)";
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  if (value > (kMax >> shift)) {
    why += " (too large)";
    return std::nullopt;
  }
  value <<= shift;
  if (value == 0) {
    why = "size must be at least 1 byte";
    return std::nullopt;
  }
  why.clear();
  return value;
}

std::optional<std::uint32_t> parse_mode(std::string_view text, std::string& why) {
  why = "mode '" + std::string(text) + "' is not octal permission bits like 600 or 0644";
  if (text.size() > 4 || !all_digits(text, '7')) return std::nullopt;
  std::uint32_t value = 0;
  for (const char c : text) value = value * 8 + static_cast<std::uint32_t>(c - '0');
  if (value > 0777) {
    why += " (setuid, setgid and sticky bits are not allowed)";
    return std::nullopt;
  }
  why.clear();
  return value;
}

std::optional<double> parse_seconds(std::string_view text, std::string& why) {
  why = "'" + std::string(text) + "' is not a number of seconds like 0, 2 or 0.05";
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  const bool whole_ok = whole.empty() || all_digits(whole, '9');
  const bool fraction_ok = dot == std::string_view::npos || all_digits(fraction, '9');
  if (!whole_ok || !fraction_ok || (whole.empty() && fraction.empty())) return std::nullopt;
  const std::string copy(text);
  const double value = std::strtod(copy.c_str(), nullptr);
  if (!(value <= kMaxSeconds)) {
    why = "'" + copy + "' seconds is too long (at most " +
          std::to_string(static_cast<long long>(kMaxSeconds)) + ")";
    return std::nullopt;
  }
  why.clear();
  return value;
}

std::string format_mode(std::uint32_t mode) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "%04o", mode);
  return buf.data();
}

std::string format_utc(std::chrono::system_clock::time_point time) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch());
  const auto secs = std::chrono::floor<std::chrono::seconds>(ns);
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> date{};
  std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::array<char, 48> full{};
  std::snprintf(full.data(), full.size(), "%s.%09lldZ", date.data(),
                static_cast<long long>((ns - secs).count()));
  return full.data();
}

std::string error_name(const std::error_code& ec) {
  if (ec.category() == shmkit::category()) {
    switch (static_cast<Errc>(ec.value())) {
      case Errc::not_found: return "not_found";
      case Errc::already_exists: return "already_exists";
      case Errc::invalid_name: return "invalid_name";
      case Errc::permission_denied: return "permission_denied";
      case Errc::wrong_kind: return "wrong_kind";
      case Errc::type_mismatch: return "type_mismatch";
      case Errc::version_mismatch: return "version_mismatch";
      case Errc::corrupt: return "corrupt";
      case Errc::timeout: return "timeout";
      case Errc::closed: return "closed";
      case Errc::full: return "full";
      case Errc::message_too_large: return "message_too_large";
      case Errc::owner_died: return "owner_died";
      case Errc::out_of_space: return "out_of_space";
      case Errc::process_failed: return "process_failed";
    }
  }
  return ec.message();
}

void Table::add_row(std::vector<std::string> cells, std::string note) {
  cells.resize(columns_.size());
  rows_.push_back({std::move(cells), std::move(note)});
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const Column& column : columns_) widths.push_back(column.title.size());
  for (const Row& row : rows_) {
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      widths[i] = std::max(widths[i], row.cells[i].size());
    }
  }
  const auto print_line = [&](const std::vector<std::string>& cells, const std::string& note) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) line += "  ";
      const std::string pad(widths[i] - cells[i].size(), ' ');
      const bool last = i + 1 == cells.size();
      if (columns_[i].align == Align::right) {
        line += pad + cells[i];
      } else {
        line += cells[i];
        if (!last || !note.empty()) line += pad;
      }
    }
    if (!note.empty()) line += "  " + note;
    out << line << '\n';
  };
  std::vector<std::string> titles;
  for (const Column& column : columns_) titles.push_back(column.title);
  print_line(titles, {});
  for (const Row& row : rows_) print_line(row.cells, row.note);
}

}  // namespace shmkit::cli
