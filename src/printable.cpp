#include "shmkit/detail/printable.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace shmkit::detail {

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      out += c;
    } else {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02x", byte);
      out += buf.data();
    }
  }
  return out;
}

std::string with_article(std::string_view word) {
  const bool vowel =
      !word.empty() && std::string_view("aeiouAEIOU").find(word[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(word);
}

std::string shell_word(std::string_view text) {
  const auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_./-+,:=@%").find(c) != std::string_view::npos;
  };
  if (!text.empty() && std::all_of(text.begin(), text.end(), plain)) return std::string(text);
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string rm_command(std::string_view name, std::string_view directory) {
  std::string command = "shmkit ";
  if (!directory.empty()) {
    // A quoted word keeps its backslashes for the shell; only a directory with
    // a byte that would break the line is shown escaped (and then cannot be
    // pasted as it is).
    const bool one_line = std::all_of(directory.begin(), directory.end(), [](char c) {
      return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    const std::string word = shell_word(directory);
    command += "--dir " + (one_line ? word : printable(word)) + " ";
  }
  command += name.starts_with('-') ? "rm -- " : "rm ";
  return command + printable(name);
}

}  // namespace shmkit::detail
