#include "inspect.hpp"

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "list_chunks.hpp"
#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/error.hpp"
#include "shmkit/platform/shm_file.hpp"

namespace shmkit::cli {
namespace {

// The creator of an object whose header says it is still being initialised.
// Segment offers no way to ask this of an object it will not open, so this
// peeks at the shared layout itself: the magic, the state word and attach
// entry 0, which the creator fills before it stores state = initialising.
std::optional<ProcessIdentity> initialising_creator(const std::string& name,
                                                    const std::string& directory) {
  using detail::SegmentHeader;
  const std::string file = Segment::file_name(name);
  const std::string what = directory + "/" + file;
  std::error_code ec;
  const platform::FileDescriptor fd = platform::open_file(directory, file, O_RDONLY, 0, ec);
  if (ec) return std::nullopt;
  try {
    const platform::FileInfo info = platform::stat_file(fd, what);
    if (!info.regular || info.size < sizeof(SegmentHeader)) return std::nullopt;
    const platform::Mapping map(fd, sizeof(SegmentHeader), false, what);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): mapped shared layout
    const auto& header = *reinterpret_cast<const SegmentHeader*>(map.data());
    // acquire pairs with the creator's release store of initialising: the
    // magic and attached[0] written before it are visible.
    const std::uint32_t state = header.state.load(std::memory_order_acquire);
    if (state != static_cast<std::uint32_t>(detail::SegmentState::initialising))
      return std::nullopt;
    if (header.fixed.magic != detail::kMagic) return std::nullopt;
    const ProcessIdentity creator =
        ProcessIdentity::unpack(header.attached[0].load(std::memory_order_relaxed));
    if (creator.pid == 0) return std::nullopt;
    return creator;
  } catch (const std::system_error&) {
    return std::nullopt;
  }
}

void stat_file_itself(ObjectInfo& info) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(info.path, ec);
  if (ec || !fs::exists(status)) return;
  info.file_mode = static_cast<std::uint32_t>(status.permissions() & fs::perms::mask) & 0777U;
  if (fs::is_regular_file(status)) {
    const std::uintmax_t size = fs::file_size(info.path, ec);
    if (!ec) info.file_size = static_cast<std::uint64_t>(size);
    const fs::file_time_type written = fs::last_write_time(info.path, ec);
    if (!ec) {
      info.unwritten_for = std::chrono::duration_cast<std::chrono::seconds>(
          fs::file_time_type::clock::now() - written);
    }
  }
}

}  // namespace

SegmentOptions inspect_options(const std::string& directory) {
  SegmentOptions options;
  options.any_kind = true;
  options.writable = false;
  options.ready_timeout = std::chrono::milliseconds(200);
  options.directory = directory;
  return options;
}

bool attachers_all_dead(const std::vector<ProcessStatus>& attached) {
  const bool any_alive =
      std::any_of(attached.begin(), attached.end(), [](const ProcessStatus& p) { return p.alive; });
  return !attached.empty() && !any_alive;
}

bool is_orphan_chunk(const ObjectInfo& info) {
  if (!info.segment || info.segment->kind() != Kind::list_chunk) return false;
  const std::optional<ChunkName> chunk = parse_chunk_name(info.name);
  return chunk && !object_exists(chunk->list, info.segment->directory());
}

ObjectInfo inspect(const std::string& name, const std::string& directory) {
  ObjectInfo info;
  info.name = name;
  info.path = directory + "/" + Segment::file_name(name);
  try {
    info.segment.emplace(Segment::open(name, inspect_options(directory)));
    info.attached = info.segment->attached();
    info.stale = attachers_all_dead(info.attached) || is_orphan_chunk(info);
    return info;
  } catch (const std::system_error& e) {
    info.error = e.code();
    info.problem = e.what();
  }
  stat_file_itself(info);
  if (info.error == Errc::invalid_name || info.error == Errc::not_found) return info;
  info.initialising_creator = initialising_creator(name, directory);
  info.initialising = info.initialising_creator.has_value() || info.error == Errc::timeout;
  // Not ready and naming no creator: empty, or reserved and all zero. A
  // creator records itself microseconds after it makes the file, so one
  // left so for kAbandonedAfter was made by a creator killed before that.
  info.abandoned = !info.initialising_creator && info.error == Errc::timeout &&
                   info.unwritten_for && *info.unwritten_for >= kAbandonedAfter;
  info.stale = (info.initialising_creator.has_value() && !is_alive(*info.initialising_creator)) ||
               info.abandoned;
  return info;
}

}  // namespace shmkit::cli
