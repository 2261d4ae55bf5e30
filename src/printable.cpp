#include "shmkit/detail/printable.hpp"

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

}  // namespace shmkit::detail
