#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/error.hpp"
#include "shmkit/kind.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/platform/shm_file.hpp"
#include "shmkit/type_fingerprint.hpp"

// Segment: a named, validated block of POSIX shared memory, the base of every
// shmkit object. The object named NAME is the file shmkit.NAME in /dev/shm (or
// $SHMKIT_DIR, or SegmentOptions::directory). Its first page holds the common
// header (detail/segment_layout.hpp); the kind's own area starts at data().
//
// A Segment handle belongs to one process and is move-only; it unmaps on
// destruction. Different handles may be used from different threads. While a
// handle is open, the process is recorded in the header's table of attached
// processes; a forked child shares its parent's entry (open the object again
// in the child to get one of its own).

namespace shmkit {

// The file-name prefix of every shmkit object.
inline constexpr std::string_view kFilePrefix = "shmkit.";
inline constexpr std::size_t kMaxNameLength = 200;

// 1 to 200 of A-Z a-z 0-9 . _ -
bool is_valid_name(std::string_view name) noexcept;
// Throws Errc::invalid_name, saying what is wrong, if !is_valid_name(name).
void validate_name(std::string_view name);

struct SegmentOptions {
  // What the object holds. open() checks them; create() records them.
  Kind kind = Kind::bytes;
  TypeFingerprint type = TypeFingerprint::bytes();
  // open(): accept any kind and element type (for tools that inspect objects).
  bool any_kind = false;
  // create(): permission bits, applied exactly (not narrowed by the umask).
  std::uint32_t mode = 0600;
  // Empty: $SHMKIT_DIR if set, else /dev/shm.
  std::string directory;
  // open(): how long to wait for a creator that has not finished initialising.
  std::chrono::milliseconds ready_timeout{5000};
  // false: map read-only and do not attach (for tools that only look).
  bool writable = true;
  // create(): fills the kind's area (zeroed) before the object is published.
  std::function<void(std::span<std::byte> data)> initialize;
};

class Segment {
 public:
  // Creates NAME with `data_size` bytes (>= 1) for the kind's own area.
  // Exclusive: Errc::already_exists if it exists. A full directory is
  // Errc::out_of_space, and nothing is left behind.
  static Segment create(std::string_view name, std::uint64_t data_size,
                        const SegmentOptions& options = {});

  // Opens NAME, waiting up to options.ready_timeout for its creator to finish,
  // and validates the whole header before anything else touches the memory:
  // Errc::not_found, corrupt, version_mismatch, wrong_kind, type_mismatch,
  // permission_denied or timeout, with a message naming the object.
  static Segment open(std::string_view name, const SegmentOptions& options = {});

  // As open(), for callers to whom failure is routine; never throws.
  static std::optional<Segment> open(std::string_view name, const SegmentOptions& options,
                                     std::error_code& ec) noexcept;

  // A look at what is under NAME now: opened read-only as whatever kind it
  // is, without waiting for a creator. nullopt and `ec` if it cannot be
  // opened at once (absent, corrupt, initialising, foreign). Never throws.
  static std::optional<Segment> look(std::string_view name, SegmentOptions options,
                                     std::error_code& ec) noexcept {
    options.any_kind = true;
    options.writable = false;
    options.ready_timeout = std::chrono::milliseconds(0);
    return open(name, options, ec);
  }

  // Opens NAME, or creates it if absent. Race-free: when many processes call
  // it at once, exactly one creates and initialises; the others wait for it.
  // created() tells which happened. A creator's `data_size` wins.
  static Segment open_or_create(std::string_view name, std::uint64_t data_size,
                                const SegmentOptions& options = {});

  // Removes NAME; false if there was none. Refuses (Errc::corrupt) a file that
  // is not a shmkit object. Processes that have it open keep their mapping.
  static bool remove(std::string_view name, const SegmentOptions& options = {});

  // The names of the objects in the directory (files shmkit.*), sorted.
  static std::vector<std::string> list(const SegmentOptions& options = {});

  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& directory() const noexcept { return directory_; }
  [[nodiscard]] std::string path() const { return directory_ + "/" + file_name(name_); }
  [[nodiscard]] Kind kind() const noexcept { return static_cast<Kind>(fixed_.kind); }
  [[nodiscard]] const TypeFingerprint& type() const noexcept { return fixed_.type; }
  [[nodiscard]] bool created() const noexcept { return created_; }
  [[nodiscard]] bool writable() const noexcept { return writable_; }
  // The kind's own area: page-aligned, data_size() bytes.
  [[nodiscard]] std::span<std::byte> data() const noexcept {
    return {mapping_.data() + fixed_.data_offset, static_cast<std::size_t>(fixed_.data_size)};
  }
  // The validated copy of the immutable header fields.
  [[nodiscard]] const detail::FixedHeader& header() const noexcept { return fixed_; }
  [[nodiscard]] ProcessIdentity creator() const noexcept {
    return ProcessIdentity::unpack(fixed_.creator);
  }
  [[nodiscard]] std::chrono::system_clock::time_point created_time() const noexcept;
  [[nodiscard]] std::uint32_t mode() const noexcept { return file_.mode; }
  [[nodiscard]] std::uint32_t owner_uid() const noexcept { return file_.uid; }
  // The table of attached processes as it is now, live and dead entries.
  [[nodiscard]] std::vector<ProcessStatus> attached() const;
  // True if this handle holds an entry in the table (false if it was full).
  [[nodiscard]] bool is_attached() const noexcept { return attach_slot_ >= 0; }
  // True once NAME no longer names the file this handle opened: it was
  // removed (and may have been created again since). Looks at the directory
  // (one stat(2)) on each call.
  [[nodiscard]] bool removed() const {
    return !platform::still_names(directory_, file_name(name_), file_);
  }

  static std::string file_name(std::string_view name) {
    return std::string(kFilePrefix) + std::string(name);
  }

 private:
  Segment() = default;
  [[nodiscard]] detail::SegmentHeader& shared_header() const noexcept {
    return *reinterpret_cast<detail::SegmentHeader*>(mapping_.data());  // NOLINT: mapped layout
  }
  static Segment try_create(std::string_view name, std::uint64_t data_size,
                            const SegmentOptions& options, std::error_code& exists);
  void attach();
  void detach() noexcept;

  platform::Mapping mapping_;
  std::string name_;
  std::string directory_;
  detail::FixedHeader fixed_{};
  platform::FileInfo file_;
  bool created_ = false;
  bool writable_ = false;
  int attach_slot_ = -1;
  std::uint64_t attach_word_ = 0;  // our packed identity in attached[attach_slot_]
};

}  // namespace shmkit
