#include "options.hpp"

#include <array>
#include <cstdio>
#include <string>

#include "format.hpp"

namespace shmkit::cli {

CLI::Validator size_validator() {
  return {[](std::string& text) {
            std::string why;
            const auto size = parse_size(text, why);
            if (size) text = std::to_string(*size);
            return why;
          },
          "", "size"};
}

CLI::Validator mode_validator() {
  return {[](std::string& text) {
            std::string why;
            const auto mode = parse_mode(text, why);
            if (mode) text = std::to_string(*mode);
            return why;
          },
          "", "mode"};
}

CLI::Validator count_validator(std::uint64_t min, std::uint64_t max) {
  return {[min, max](std::string& text) -> std::string {
            const std::string range = std::to_string(min) + " to " + std::to_string(max);
            std::uint64_t value = 0;
            const bool digits =
                !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
            if (digits) {
              for (const char c : text) {
                const auto digit = static_cast<std::uint64_t>(c - '0');
                if (digit > max || value > (max - digit) / 10)
                  return "'" + text + "' is out of range " + range;
                value = value * 10 + digit;
              }
            }
            if (!digits) return "'" + text + "' is not a whole number from " + range;
            if (value < min) return "'" + text + "' is out of range " + range;
            text = std::to_string(value);
            return {};
          },
          "", "count"};
}

CLI::Validator non_empty_validator() {
  return {[](const std::string& text) -> std::string {
            return text.empty() ? "an empty value is not allowed" : "";
          },
          "", "non-empty"};
}

CLI::Validator seconds_validator() {
  return {[](std::string& text) {
            std::string why;
            const auto seconds = parse_seconds(text, why);
            if (seconds) {
              // Exact round trip: %.17g keeps every bit of the double.
              std::array<char, 64> buf{};
              std::snprintf(buf.data(), buf.size(), "%.17g", *seconds);
              text = buf.data();
            }
            return why;
          },
          "", "seconds"};
}

}  // namespace shmkit::cli
