#include "shmkit/type_fingerprint.hpp"

#include <cstdio>

#include "shmkit/detail/checksum.hpp"
#include "shmkit/detail/printable.hpp"

namespace shmkit {

TypeFingerprint TypeFingerprint::make(std::uint32_t size, std::uint32_t align,
                                      std::string_view name) {
  TypeFingerprint fp;
  fp.size = size;
  fp.align = align;
  const std::size_t room = fp.name.size() - 1;  // keep a terminating NUL
  if (name.size() <= room) {
    std::memcpy(fp.name.data(), name.data(), name.size());
    return fp;
  }
  // "<first 38 chars>#<8 hex digits of the hash of the whole name>"
  std::array<char, 10> suffix{};
  std::snprintf(suffix.data(), suffix.size(), "#%08x", detail::fnv1a32(name.data(), name.size()));
  const std::size_t keep = room - 9;
  std::memcpy(fp.name.data(), name.data(), keep);
  std::memcpy(fp.name.data() + keep, suffix.data(), 9);
  return fp;
}

std::string TypeFingerprint::name_string() const {
  return {name.data(), strnlen(name.data(), name.size())};
}

std::string TypeFingerprint::printable_name() const { return detail::printable(name_string()); }

std::string TypeFingerprint::describe() const {
  return printable_name() + " (" + std::to_string(size) + (size == 1 ? " byte" : " bytes") +
         ", align " + std::to_string(align) + ")";
}

}  // namespace shmkit
