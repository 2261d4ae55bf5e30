#include "shmkit/remove.hpp"

#include "shmkit/detail/list_core.hpp"

namespace shmkit {

bool remove_object(std::string_view name, const SegmentOptions& options) {
  std::error_code ec;
  const std::optional<Segment> segment = Segment::look(name, options, ec);
  if (segment && segment->kind() == Kind::list) return detail::ListCore::remove(name, options);
  // Any other kind, or one that cannot be opened (corrupt, initialising):
  // Segment::remove decides, and refuses a file that is not ours.
  return Segment::remove(name, options);
}

}  // namespace shmkit
