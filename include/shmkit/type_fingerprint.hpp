#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

// What an object stores, as recorded in its header: element size, alignment
// and a name. Opening an object as another type is Errc::type_mismatch.
//
// Names are stable across compilers for the fixed-width arithmetic types
// ("int32", "float64"...). Any other type gets the compiler's spelling of it,
// which g++ and clang may spell differently: give such a type a stable name by
// specialising shmkit::TypeName, e.g.
//   template <> struct shmkit::TypeName<Tick> { static constexpr std::string_view value = "Tick";
//   };
// Layout type: trivially copyable, fixed-width fields, lives in segment headers.

namespace shmkit {

inline constexpr std::size_t kTypeNameBytes = 48;  // including the terminating NUL

namespace detail {
template <class T>
constexpr std::string_view compiler_type_name() noexcept {
  // "... [with T = int; ...]" (g++) or "... [T = int]" (clang).
  std::string_view f = __PRETTY_FUNCTION__;
  const std::size_t start = f.find("T = ") + 4;
  const std::size_t end = f.find_first_of(";]", start);
  return f.substr(start, end - start);
}

template <class T>
constexpr std::string_view arithmetic_name() noexcept {
  if constexpr (std::is_same_v<T, bool>)
    return "bool";
  else if constexpr (std::is_same_v<T, char>)
    return "char";
  else if constexpr (std::is_floating_point_v<T>) {
    if constexpr (sizeof(T) == 4)
      return "float32";
    else if constexpr (sizeof(T) == 8)
      return "float64";
    else
      return "float128";
  } else if constexpr (std::is_signed_v<T>) {
    constexpr std::array<std::string_view, 9> kNames{"", "int8", "int16", "",     "int32",
                                                     "", "",     "",      "int64"};
    return kNames[sizeof(T)];
  } else {
    constexpr std::array<std::string_view, 9> kNames{"", "uint8", "uint16", "",      "uint32",
                                                     "", "",      "",       "uint64"};
    return kNames[sizeof(T)];
  }
}
}  // namespace detail

// Specialise for a stable name of your own type.
template <class T>
struct TypeName {
  // NOLINTNEXTLINE(readability-identifier-naming): `value`, as in std's traits.
  static constexpr std::string_view value = [] {
    if constexpr (std::is_arithmetic_v<T> && sizeof(T) <= 8)
      return detail::arithmetic_name<T>();
    else
      return detail::compiler_type_name<T>();
  }();
};

struct TypeFingerprint {
  std::uint32_t size = 0;                   // sizeof(T); 1 for raw bytes
  std::uint32_t align = 0;                  // alignof(T)
  std::array<char, kTypeNameBytes> name{};  // NUL-padded; long names end in a hash

  // Fingerprint of a type with the given name; names longer than fit keep
  // their start and end in a hash of the whole, so distinct names stay distinct.
  static TypeFingerprint make(std::uint32_t size, std::uint32_t align, std::string_view name);

  template <class T>
  static TypeFingerprint of() {
    return make(sizeof(T), alignof(T), TypeName<T>::value);
  }

  // The fingerprint of a raw-bytes object.
  static TypeFingerprint bytes() { return make(1, 1, "bytes"); }

  [[nodiscard]] std::string name_string() const;  // up to the first NUL
  // The name with bytes outside printable ASCII shown as \xNN (names come
  // from shared memory and end up on terminals).
  [[nodiscard]] std::string printable_name() const;
  // "int32 (4 bytes, align 4)"; bytes outside printable ASCII shown as \xNN
  [[nodiscard]] std::string describe() const;

  friend bool operator==(const TypeFingerprint& a, const TypeFingerprint& b) noexcept {
    return a.size == b.size && a.align == b.align && a.name == b.name;
  }
};
static_assert(std::is_standard_layout_v<TypeFingerprint>);
static_assert(std::is_trivially_copyable_v<TypeFingerprint>);
static_assert(sizeof(TypeFingerprint) == 56);

}  // namespace shmkit
