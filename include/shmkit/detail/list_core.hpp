#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shmkit/detail/list_layout.hpp"
#include "shmkit/platform/futex.hpp"
#include "shmkit/platform/spin.hpp"
#include "shmkit/segment.hpp"

// ListCore: the type-erased handle behind List<T> (list.hpp). Items are byte
// records; the layout and its protocol are in list_layout.hpp.
//
// A handle belongs to one process. Its operations are thread-safe: appends
// take the list's shared mutex, reads take no lock, and the chunks a handle
// maps on demand are guarded by a process-local mutex.

namespace shmkit::detail {

struct ListShape {
  std::uint32_t element_size = 0;  // 0: variable-length records (strings)
  std::uint32_t element_align = 1;
  TypeFingerprint type;  // recorded in the header; checked at open
};

class ListCore {
 public:
  static ListCore create(std::string_view name, const ListShape& shape, SegmentOptions options);
  static ListCore open(std::string_view name, const ListShape& shape, SegmentOptions options);
  // As open(), but first waits (inotify, not polling) until `deadline` for the
  // list to appear.
  static ListCore open_waiting(std::string_view name, const ListShape& shape,
                               SegmentOptions options, platform::Deadline deadline);
  static ListCore open_or_create(std::string_view name, const ListShape& shape,
                                 SegmentOptions options);
  // Opens any list for inspection (tools): read-only, any element type.
  static ListCore inspect(std::string_view name, SegmentOptions options);
  // Removes the list and its chunks; false if there was no list of that name.
  // Errc::wrong_kind, removing nothing, if NAME is an object of another kind.
  static bool remove(std::string_view name, const SegmentOptions& options);

  ListCore(ListCore&&) noexcept;
  ListCore& operator=(ListCore&&) noexcept;
  ListCore(const ListCore&) = delete;
  ListCore& operator=(const ListCore&) = delete;
  ~ListCore();

  // Appends `items` (each one item's bytes) as one batch under the list's
  // lock, and publishes them together. Errc::closed after close(),
  // Errc::message_too_large for an item over kListMaxRecord, and
  // Errc::out_of_space if a new chunk cannot be reserved: nothing is
  // published then.
  void append(std::span<const std::span<const std::byte>> items);
  // Replaces item i (std::out_of_range if i >= size()).
  void assign(std::uint64_t i, std::span<const std::byte> item);
  // Item i's bytes, valid while this handle lives. std::out_of_range if i >=
  // size(); Errc::corrupt if its index entry points outside its chunk.
  [[nodiscard]] std::span<const std::byte> item(std::uint64_t i) const;

  [[nodiscard]] std::uint64_t size() const noexcept {
    // acquire pairs with the appender's release: entries below it are written.
    return head_->size.load(std::memory_order_acquire);
  }
  // Sleeps until size() >= n (true), or until the list is closed with fewer
  // items or the deadline passes (false).
  bool wait_for_size(std::uint64_t n, platform::Deadline deadline) const noexcept;
  void close();
  [[nodiscard]] bool closed() const noexcept {
    return head_->closed.load(std::memory_order_acquire) != 0;
  }
  [[nodiscard]] std::uint64_t bytes_in_use() const noexcept {
    return head_->bytes_in_use.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint32_t chunks() const noexcept;
  [[nodiscard]] const Segment& segment() const noexcept { return root_; }
  [[nodiscard]] bool variable_length() const noexcept { return shape_.element_size == 0; }

 private:
  struct Maps;  // chunks mapped by this handle
  ListCore(Segment root, const ListShape& expected);
  static SegmentOptions root_options(const ListShape& shape, SegmentOptions options);
  static std::uint64_t root_size(const ListShape& shape);

  [[nodiscard]] std::uint64_t index_entries(std::uint32_t k) const noexcept {
    return index0_entries_ << k;
  }
  [[nodiscard]] std::atomic_ref<std::uint64_t> index_slot(std::uint64_t i) const;
  // Index chunk k (< kListMaxChunks): its index_entries(k) entries, mapped
  // on first use.
  [[nodiscard]] std::span<std::byte> index_chunk(std::uint32_t k) const;
  [[nodiscard]] std::span<std::byte> data_chunk(std::uint32_t k) const;
  std::span<std::byte> map_chunk(char log, std::uint32_t k, std::uint64_t min_bytes) const;
  std::span<std::byte> make_chunk(char log, std::uint32_t k, std::uint64_t bytes);
  // Under the lock: room for a record of `bytes`, as an index entry and address.
  std::uint64_t place(std::uint64_t bytes, std::byte*& at);
  void write_record(std::span<const std::byte> item, std::byte* at) const;
  // Under the lock: adds `bytes` (mod 2^64) to the head's bytes_in_use.
  void add_bytes_in_use(std::uint64_t bytes) noexcept;
  [[nodiscard]] std::uint64_t record_bytes(std::size_t item_bytes) const;
  void publish(std::uint64_t new_size) noexcept;
  // wait_for_size()'s step: join the current generation of waiters, and
  // fence for light appenders.
  [[nodiscard]] std::uint64_t join_waiters(bool& fenced) const noexcept;

  Segment root_;
  ListHead* head_ = nullptr;
  ListShape shape_;
  std::uint64_t index0_entries_ = 0;  // validated copies of the immutable head
  std::uint64_t data0_bytes_ = 0;
  std::unique_ptr<Maps> maps_;
  bool light_announced_ = false;  // we set head_->light_appenders; under append_lock
  // How long wait_for_size() spins before it sleeps (platform::SpinBudget).
  mutable platform::SpinBudget spin_budget_;
};

}  // namespace shmkit::detail
