#include "list_chunks.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "shmkit/detail/list_layout.hpp"
#include "shmkit/segment.hpp"

namespace shmkit::cli {

std::optional<ChunkName> parse_chunk_name(std::string_view name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 2 >= name.size()) return std::nullopt;
  const char log = name[dot + 1];
  const std::string_view digits = name.substr(dot + 2);
  if ((log != 'i' && log != 'd') || digits.empty() || digits.size() > 2 || digits[0] == '0' ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    return std::nullopt;
  }
  std::uint32_t k = 0;
  for (const char c : digits) k = k * 10 + static_cast<std::uint32_t>(c - '0');
  if (k >= detail::kListMaxChunks) return std::nullopt;
  return ChunkName{std::string(name.substr(0, dot)), log, k};
}

bool object_exists(const std::string& name, const std::string& directory) {
  SegmentOptions options;
  options.directory = directory;
  std::error_code ec;
  const std::optional<Segment> segment = Segment::look(name, options, ec);
  return segment.has_value() || (ec && ec != Errc::not_found);
}

}  // namespace shmkit::cli
