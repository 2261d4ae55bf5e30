#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The chunk objects of a List: NAME.i<k> (index chunk k) and NAME.d<k> (data
// chunk k), k >= 1, kind list-chunk (see shmkit/detail/list_layout.hpp). The
// CLI hides them in ls, removes them with their list and describes them as
// part of it. Pure functions of names, plus a look at the directory.

namespace shmkit::cli {

struct ChunkName {
  std::string list;  // the list's name
  char log = 'd';    // 'i': index chunk, 'd': data chunk
  std::uint32_t k = 0;
};

// "jobs.d3" -> {"jobs", 'd', 3}; nullopt for a name no list chunk can have.
std::optional<ChunkName> parse_chunk_name(std::string_view name);

// Whether a file for object NAME exists in `directory` (valid or not).
bool object_exists(const std::string& name, const std::string& directory);

}  // namespace shmkit::cli
