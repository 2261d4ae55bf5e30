#include "shmkit/kind.hpp"

namespace shmkit {

std::string_view kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::bytes: return "bytes";
    case Kind::mutex: return "mutex";
    case Kind::semaphore: return "semaphore";
    case Kind::event: return "event";
    case Kind::condition: return "condition";
    case Kind::barrier: return "barrier";
    case Kind::value: return "value";
    case Kind::array: return "array";
    case Kind::list: return "list";
    case Kind::list_chunk: return "list-chunk";
    case Kind::queue: return "queue";
    case Kind::pipe: return "pipe";
  }
  return "unknown";
}

std::optional<Kind> kind_from_number(std::uint32_t number) noexcept {
  const auto kind = static_cast<Kind>(number);
  if (kind_name(kind) == "unknown") return std::nullopt;
  return kind;
}

}  // namespace shmkit
