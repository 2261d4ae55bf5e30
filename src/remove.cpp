#include "shmkit/remove.hpp"

#include "shmkit/detail/list_core.hpp"

namespace shmkit {

bool remove_object(std::string_view name, const SegmentOptions& options) {
  SegmentOptions look = options;
  look.any_kind = true;
  look.writable = false;
  look.ready_timeout = std::chrono::milliseconds(0);
  std::error_code ec;
  const std::optional<Segment> segment = Segment::open(name, look, ec);
  if (segment && segment->kind() == Kind::list) return detail::ListCore::remove(name, options);
  // Any other kind, or one that cannot be opened (corrupt, initialising):
  // Segment::remove decides, and refuses a file that is not ours.
  return Segment::remove(name, options);
}

}  // namespace shmkit
