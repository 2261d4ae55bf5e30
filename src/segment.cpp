#include "shmkit/segment.hpp"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <utility>

#include "shmkit/detail/attach_table.hpp"
#include "shmkit/detail/header_check.hpp"
#include "shmkit/detail/printable.hpp"
#include "shmkit/platform/futex.hpp"

namespace shmkit {
namespace {

using detail::FixedHeader;
using detail::HeaderVerdict;
using detail::SegmentHeader;
using detail::SegmentState;
using Clock = std::chrono::steady_clock;

std::string describe(std::string_view name, const std::string& directory) {
  return "object '" + std::string(name) + "' (" + detail::printable(directory) + "/" +
         Segment::file_name(name) + ")";
}

using detail::round_up;

// For ENOENT from opening a file in `dir`: ": directory DIR does not exist"
// when that is why, else nothing (the file itself is missing).
std::string missing_directory(const std::string& dir) {
  if (platform::is_directory(dir)) return {};
  return ": directory " + detail::printable(dir) + " does not exist";
}

// The first min(size, kDataAlignment) bytes of `map`: the header area.
std::span<const std::byte> header_area(const platform::Mapping& map) noexcept {
  return {map.data(), std::min<std::size_t>(map.size(), detail::kDataAlignment)};
}

std::atomic_ref<std::uint32_t> magic_word(SegmentHeader& header) noexcept {
  return std::atomic_ref<std::uint32_t>(header.fixed.magic);
}

// Removes a half-made file unless released: a failed create leaves nothing.
class CreateGuard {
 public:
  CreateGuard(std::string dir, std::string file) : dir_(std::move(dir)), file_(std::move(file)) {}
  CreateGuard(const CreateGuard&) = delete;
  CreateGuard& operator=(const CreateGuard&) = delete;
  ~CreateGuard() {
    if (!released_) {
      try {
        platform::unlink_file(dir_, file_);
      } catch (...) {  // NOLINT(bugprone-empty-catch): best effort while already failing
      }
    }
  }
  void release() noexcept { released_ = true; }

 private:
  std::string dir_;
  std::string file_;
  bool released_ = false;
};

FixedHeader make_fixed_header(const SegmentOptions& options, std::uint64_t data_size) {
  FixedHeader fixed{};
  fixed.magic = detail::kMagic;
  fixed.layout_version = detail::kLayoutVersion;
  fixed.header_size = sizeof(SegmentHeader);
  fixed.kind = static_cast<std::uint32_t>(options.kind);
  fixed.attach_capacity = detail::kAttachSlots;
  fixed.data_offset = round_up(sizeof(SegmentHeader), detail::kDataAlignment);
  fixed.data_size = data_size;
  fixed.total_size = fixed.data_offset + data_size;
  fixed.creator = ProcessIdentity::self().pack();
  fixed.created_ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  fixed.type = options.type;
  fixed.checksum = detail::header_checksum(fixed);
  return fixed;
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

void validate_name(std::string_view name) {
  if (is_valid_name(name)) return;
  std::string why;
  if (name.empty()) {
    why = "it is empty";
  } else if (name.size() > kMaxNameLength) {
    why = "it has " + std::to_string(name.size()) + " characters, more than " +
          std::to_string(kMaxNameLength);
  } else {
    why = "it may hold only A-Z a-z 0-9 . _ -";
  }
  throw Error(Errc::invalid_name, "object name '" + detail::printable(name) + "' (" + why + ")");
}

Segment Segment::create(std::string_view name, std::uint64_t data_size,
                        const SegmentOptions& options) {
  std::error_code exists;
  Segment segment = try_create(name, data_size, options, exists);
  if (exists) {
    throw Error(Errc::already_exists,
                "cannot create " + describe(name, platform::resolve_directory(options.directory)));
  }
  return segment;
}

Segment Segment::try_create(std::string_view name, std::uint64_t data_size,
                            const SegmentOptions& options, std::error_code& exists) {
  validate_name(name);
  const std::string dir = platform::resolve_directory(options.directory);
  const std::string what = describe(name, dir);
  if (data_size == 0 || data_size > detail::kMaxDataSize) {
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "cannot create " + what + ": size " + std::to_string(data_size) +
                    " is outside 1.." + std::to_string(detail::kMaxDataSize));
  }
  if ((options.mode & ~std::uint32_t{0777}) != 0) {
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "cannot create " + what + ": mode must be within 0777");
  }
  std::error_code ec;
  const std::string file = file_name(name);
  platform::FileDescriptor fd =
      platform::open_file(dir, file, O_RDWR | O_CREAT | O_EXCL, options.mode, ec);
  if (ec.value() == EEXIST) {
    exists = ec;
    return {};
  }
  if (ec.value() == ENOENT) {
    throw Error(Errc::not_found, "cannot create " + what + missing_directory(dir));
  }
  if (ec) throw_errno(ec.value(), "cannot create " + what);
  // Declared before the guard: if we fail, the file is unlinked before our
  // entry in attached[] is released, so an opener that finds the entry empty
  // while the object is initialising also finds the file gone.
  Segment segment;
  CreateGuard guard(dir, file);

  FixedHeader fixed = make_fixed_header(options, data_size);
  const ProcessIdentity me = ProcessIdentity::self();
  // Step 1 of the init protocol (segment_layout.hpp), on the header area
  // alone: reserving the whole object can take seconds (gigabytes), and a
  // creator killed in it must leave a file that names it, which open reports
  // and rm --stale removes, not an anonymous empty one.
  platform::reserve_file(fd, fixed.data_offset, what);  // zero-filled from here on
  segment.mapping_ = platform::Mapping(fd, fixed.data_offset, true, what);
  SegmentHeader* header = &segment.shared_header();
  // relaxed: both stores are published by the release store of
  // `initialising` below.
  magic_word(*header).store(detail::kMagic, std::memory_order_relaxed);
  header->attached[0].store(me.pack(), std::memory_order_relaxed);
  segment.attach_slot_ = 0;
  segment.attach_word_ = me.pack();
  // release pairs with the opener's acquire load of state in open().
  header->state.store(static_cast<std::uint32_t>(SegmentState::initialising),
                      std::memory_order_release);

  // Then the whole object, mapped again at its size.
  platform::reserve_file(fd, fixed.total_size, what);
  segment.mapping_ = platform::Mapping(fd, fixed.total_size, true, what);
  segment.file_ = platform::stat_file(fd, what);
  segment.name_ = std::string(name);
  segment.directory_ = dir;
  segment.fixed_ = fixed;
  segment.created_ = true;
  segment.writable_ = true;
  header = &segment.shared_header();

  // Step 2: every other fixed field (the magic is already there).
  std::memcpy(reinterpret_cast<std::byte*>(&header->fixed) + sizeof(fixed.magic),  // NOLINT
              reinterpret_cast<const std::byte*>(&fixed) + sizeof(fixed.magic),    // NOLINT
              sizeof(FixedHeader) - sizeof(fixed.magic));
  if (options.initialize) options.initialize(segment.data());
  // Step 3. release: everything above happens-before an opener's acquire of ready.
  header->state.store(static_cast<std::uint32_t>(SegmentState::ready), std::memory_order_release);
  platform::futex_wake_all(header->state);
  guard.release();
  return segment;
}

Segment Segment::open(std::string_view name, const SegmentOptions& options) {
  validate_name(name);
  const std::string dir = platform::resolve_directory(options.directory);
  const std::string what = describe(name, dir);
  std::error_code ec;
  platform::FileDescriptor fd =
      platform::open_file(dir, file_name(name), options.writable ? O_RDWR : O_RDONLY, 0, ec);
  if (ec.value() == ENOENT) {
    throw Error(Errc::not_found, "cannot open " + what + missing_directory(dir));
  }
  // O_NOFOLLOW: no object is a link, and one is never followed.
  if (ec.value() == ELOOP) throw Error(Errc::corrupt, what + " is a symbolic link; not opened");
  if (ec) throw_errno(ec.value(), "cannot open " + what);

  detail::Expectation expect;
  if (!options.any_kind) {
    expect.kind = options.kind;
    expect.type = options.type;
  }
  const Clock::time_point deadline = Clock::now() + options.ready_timeout;
  Segment segment;
  for (;;) {
    segment.file_ = platform::stat_file(fd, what);
    const platform::FileInfo& info = segment.file_;
    if (!info.regular) throw Error(Errc::corrupt, what + " is not a regular file");
    if (info.size != segment.mapping_.size() && info.size > 0) {
      segment.mapping_ = platform::Mapping(fd, info.size, options.writable, what);
    }
    FixedHeader fixed{};
    std::uint32_t state = 0;
    SegmentHeader* header = info.size > 0 ? &segment.shared_header() : nullptr;
    if (info.size >= offsetof(SegmentHeader, state) + sizeof(std::uint32_t)) {
      // acquire pairs with the creator's release stores of initialising/ready.
      state = header->state.load(std::memory_order_acquire);
    }
    if (state == static_cast<std::uint32_t>(SegmentState::ready)) {
      fixed = header->fixed;  // immutable from here on
      // The size above may predate the creator's reservation of the whole
      // file (it publishes initialising on the header area alone): a size
      // read now, after the acquire of ready, is the reserved one.
      if (fixed.total_size != info.size && platform::stat_file(fd, what).size != info.size) {
        continue;  // look again at the new size
      }
    } else if (info.size >= sizeof(fixed.magic)) {
      // The creator may be writing the other fields: look at the magic only,
      // and, while it is 0, at the bytes no creator writes.
      fixed.magic = magic_word(*header).load(std::memory_order_relaxed);
      if (fixed.magic == 0 && !detail::unwritten_bytes_zero(header_area(segment.mapping_))) {
        throw Error(Errc::corrupt, what +
                                       ": not a shmkit object (magic 0x00000000, and bytes "
                                       "that no shmkit object uses are not zero)");
      }
    }
    const detail::HeaderCheck check = detail::check_header(fixed, state, info.size, expect);
    if (check.verdict == HeaderVerdict::invalid)
      throw Error(check.code, what + ": " + check.problem);
    if (check.verdict == HeaderVerdict::valid) {
      segment.fixed_ = fixed;
      break;
    }
    // Not ready. A file removed meanwhile (its creator failed and removed it,
    // or someone else did) will never become ready under this name.
    const auto removed = [&what] {
      return Error(Errc::not_found, "cannot open " + what + ": it was removed before it was ready");
    };
    if (info.links == 0) throw removed();
    if (state == static_cast<std::uint32_t>(SegmentState::initialising)) {
      // acquire pairs with the release in detach_process(): if the creator
      // has released its entry, its store of `ready` before that is visible.
      const auto creator =
          ProcessIdentity::unpack(header->attached[0].load(std::memory_order_acquire));
      if (!is_alive(creator)) {
        // It may have published `ready` and then closed or exited since we
        // loaded `state` (its exit follows its stores): look again.
        if (header->state.load(std::memory_order_acquire) !=
            static_cast<std::uint32_t>(SegmentState::initialising)) {
          continue;
        }
        // A creator that fails removes the file before it releases its entry
        // (try_create): an empty or dead entry on a removed file is that.
        if (platform::stat_file(fd, what).links == 0) throw removed();
        std::string message = what;
        message += creator.pid == 0 ? ": its creator"
                                    : ": its creator (pid " + std::to_string(creator.pid) + ")";
        message += " died while initialising it; remove it with: ";
        message += detail::rm_command(name, options.directory);
        throw Error(Errc::corrupt, message);
      }
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      throw Error(Errc::timeout,
                  what + " is not ready after " + std::to_string(options.ready_timeout.count()) +
                      " ms: " + check.problem + "; if no process is creating it, " +
                      "remove it with: " + detail::rm_command(name, options.directory));
    }
    // Sleep until the creator publishes, re-checking its liveness every 50 ms.
    const Clock::time_point wake = std::min(deadline, now + std::chrono::milliseconds(50));
    if (header != nullptr && info.size >= sizeof(SegmentHeader)) {
      platform::futex_wait(header->state, state, wake);
    } else {
      // An empty file has no word to sleep on yet; its creator is between
      // open(O_EXCL) and posix_fallocate, microseconds away.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  segment.name_ = std::string(name);
  segment.directory_ = dir;
  segment.writable_ = options.writable;
  if (options.writable) segment.attach();
  return segment;
}

std::optional<Segment> Segment::open(std::string_view name, const SegmentOptions& options,
                                     std::error_code& ec) noexcept {
  ec.clear();
  try {
    return open(name, options);
  } catch (const std::system_error& e) {
    ec = e.code();
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
  return std::nullopt;
}

Segment Segment::open_or_create(std::string_view name, std::uint64_t data_size,
                                const SegmentOptions& options) {
  // Each round: O_EXCL create, else open. Open can find the object gone if it
  // was removed in between; then create again. Bounded by ready_timeout.
  const Clock::time_point deadline = Clock::now() + options.ready_timeout;
  for (;;) {
    std::error_code exists;
    Segment created = try_create(name, data_size, options, exists);
    if (!exists) return created;
    try {
      return open(name, options);
    } catch (const Error& e) {
      if (e.code() != Errc::not_found || Clock::now() >= deadline) throw;
    }
  }
}

bool Segment::remove(std::string_view name, const SegmentOptions& options) {
  validate_name(name);
  const std::string dir = platform::resolve_directory(options.directory);
  const std::string what = describe(name, dir);
  const std::string file = file_name(name);
  std::error_code ec;
  const platform::FileDescriptor fd = platform::open_file(dir, file, O_RDONLY, 0, ec);
  if (ec.value() == ENOENT) return false;
  if (ec.value() == ELOOP) throw Error(Errc::corrupt, what + " is a symbolic link; not removed");
  if (ec) throw_errno(ec.value(), "cannot remove " + what);
  const platform::FileInfo info = platform::stat_file(fd, what);
  // Ours: the magic, or a file its creator has not yet written (empty, or
  // reserved: a zero magic, and zero where no creator ever writes).
  bool ours = info.size == 0;
  if (info.regular && info.size >= sizeof(std::uint32_t)) {
    const platform::Mapping map(
        fd, static_cast<std::size_t>(std::min<std::uint64_t>(info.size, detail::kDataAlignment)),
        false, what);
    std::uint32_t magic = 0;
    std::memcpy(&magic, map.data(), sizeof magic);
    ours = magic == detail::kMagic || (magic == 0 && info.size >= sizeof(SegmentHeader) &&
                                       detail::unwritten_bytes_zero(header_area(map)));
  }
  if (!ours || !info.regular) {
    throw Error(Errc::corrupt, what +
                                   " is not a shmkit object; not removed (if you are sure, "
                                   "delete the file itself)");
  }
  return platform::unlink_file(dir, file);
}

std::vector<std::string> Segment::list(const SegmentOptions& options) {
  const std::string dir = platform::resolve_directory(options.directory);
  std::vector<std::string> names;
  for (const std::string& file : platform::list_files(dir, std::string(kFilePrefix))) {
    names.push_back(file.substr(kFilePrefix.size()));
  }
  return names;
}

Segment::Segment(Segment&& other) noexcept
    : mapping_(std::move(other.mapping_)),
      name_(std::move(other.name_)),
      directory_(std::move(other.directory_)),
      fixed_(std::exchange(other.fixed_, {})),  // moved-from: data() is empty
      file_(other.file_),
      created_(other.created_),
      writable_(other.writable_),
      attach_slot_(std::exchange(other.attach_slot_, -1)),
      attach_word_(std::exchange(other.attach_word_, 0)) {}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    detach();
    mapping_ = std::move(other.mapping_);
    name_ = std::move(other.name_);
    directory_ = std::move(other.directory_);
    fixed_ = std::exchange(other.fixed_, {});
    file_ = other.file_;
    created_ = other.created_;
    writable_ = other.writable_;
    attach_slot_ = std::exchange(other.attach_slot_, -1);
    attach_word_ = std::exchange(other.attach_word_, 0);
  }
  return *this;
}

Segment::~Segment() { detach(); }

void Segment::attach() {
  const ProcessIdentity me = ProcessIdentity::self();
  attach_slot_ = detail::attach_process(shared_header(), me);
  attach_word_ = attach_slot_ >= 0 ? me.pack() : 0;
}

void Segment::detach() noexcept {
  if (attach_slot_ < 0 || mapping_.data() == nullptr) return;
  // A forked child inherits this handle but not the entry: only the process
  // that attached releases it.
  if (ProcessIdentity::unpack(attach_word_).pid == current_pid()) {
    detail::detach_process(shared_header(), attach_slot_, attach_word_);
  }
  attach_slot_ = -1;
}

std::chrono::system_clock::time_point Segment::created_time() const noexcept {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(fixed_.created_ns)));
}

std::vector<ProcessStatus> Segment::attached() const {
  return detail::attached_processes(shared_header());
}

}  // namespace shmkit
