#include "shmkit/detail/list_core.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>

#include "shmkit/detail/list_geometry.hpp"
#include "shmkit/detail/printable.hpp"
#include "shmkit/platform/remote_fence.hpp"
#include "shmkit/platform/spin.hpp"
#include "shmkit/sync/lock_guard.hpp"

namespace shmkit::detail {
namespace {

constexpr std::uint64_t kIndex0Entries = 1024;
constexpr std::uint64_t kVariableData0Bytes = std::uint64_t{16} << 10;
constexpr std::size_t kMaxListName = kMaxNameLength - 4;  // room for ".d39"
constexpr std::uint32_t kLengthPrefix = sizeof(std::uint32_t);

std::string chunk_name(std::string_view list, char log, std::uint32_t k) {
  return std::string(list) + "." + log + std::to_string(k);
}

std::uint64_t data0_bytes_for(const ListShape& shape) {
  return shape.element_size == 0
             ? kVariableData0Bytes
             : kIndex0Entries * round_up(shape.element_size, shape.element_align);
}

// Chunk k of the index holding entry i: chunks hold E0, 2*E0, 4*E0... entries,
// so chunk k starts at E0 * (2^k - 1).
std::uint32_t index_chunk_of(std::uint64_t i, std::uint64_t e0, std::uint64_t& first) {
  const auto k = static_cast<std::uint32_t>(std::bit_width(i / e0 + 1) - 1);
  // k < 64: i / e0 + 1 wraps to 0 only for i = 2^64 - 1 with e0 = 1, and i,
  // an item's position, is below the index's capacity, e0 * (2^kListMaxChunks - 1).
  // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
  first = e0 * ((std::uint64_t{1} << k) - 1);
  return k;
}

static_assert(kIndex0Entries <= kListMaxIndex0Entries);

// How far ahead of the bytes it is about to write an appender pre-faults a
// chunk: one system call per window, instead of a page fault per 4 KiB page
// for each process that appends (see prefault_ahead()). 1 MiB: at most
// about 0.4 ms in one call here; a whole 64 MiB chunk at once held an
// append up for 12 ms. Windows of 64 and 256 KiB gained less.
constexpr std::uint64_t kPrefaultWindow = std::uint64_t{1024} << 10;

// Before an appender writes bytes [begin, end) of `chunk`: pre-faults them
// and the window after (to the chunk's end) unless `ready` (how far this
// handle has pre-faulted the chunk) already covers them. Bytes that other
// appenders wrote beyond `ready` are skipped: this one will not write them.
// A growing list's appender spent about a fifth of its time in page faults,
// a write fault per page of every chunk ("List appends without page
// faults", BENCHMARKS.md).
void prefault_ahead(std::span<std::byte> chunk, std::uint64_t begin, std::uint64_t end,
                    std::uint64_t& ready) noexcept {
  if (end <= ready) return;
  const std::uint64_t from = std::max(ready, begin);
  const std::uint64_t to = std::min<std::uint64_t>(chunk.size(), end + kPrefaultWindow);
  if (to > from) platform::prefault_for_write(chunk.data() + from, to - from);
  ready = to;
}

[[noreturn]] void corrupt(const Segment& root, const std::string& what) {
  throw Error(Errc::corrupt, "list '" + root.name() + "': " + what);
}

// Chunks are found by name, and after List::remove the name may be a new
// list's: a handle whose list was removed must take none of its chunks.
void require_not_removed(const Segment& root) {
  if (!root.removed()) return;
  throw Error(Errc::not_found,
              "list '" + root.name() +
                  "' was removed while this handle had it open; what it had "
                  "read stays readable, anything more needs the list opened again");
}

// What is under a name the list uses, without waiting: nothing, a segment of
// `kind`, or one that cannot be opened at once (its creator died while
// initialising it, or it is no shmkit object), which is nobody's.
struct Occupant {
  bool present = false;
  std::optional<Kind> kind;  // nullopt: unreadable
};

Occupant occupant(std::string_view name, const SegmentOptions& options) {
  std::error_code ec;
  const std::optional<Segment> probe = Segment::look(name, options, ec);
  if (probe) return {true, probe->kind()};
  return {ec != make_error_code(Errc::not_found), std::nullopt};
}

// Removes the chunk NAME if it is one (of kind list_chunk, or unreadable: a
// killed appender's), and never an object of another kind that happens to
// have its name: that one's kind is returned, and it is left alone.
std::optional<Kind> remove_chunk(const std::string& name, const SegmentOptions& options) {
  const Occupant there = occupant(name, options);
  if (there.kind && *there.kind != Kind::list_chunk) return there.kind;
  if (there.present) Segment::remove(name, options);
  return std::nullopt;
}

}  // namespace

struct ListCore::Maps {
  std::mutex mutex;  // serialises mapping; lookups are lock-free
  std::array<std::atomic<std::byte*>, kListMaxChunks> index{};
  std::array<std::atomic<std::byte*>, kListMaxChunks> data{};
  std::array<std::uint64_t, kListMaxChunks> data_bytes{};  // written before data[k] is published
  std::vector<Segment> chunks;                             // keeps the mappings alive
  // Appenders only, under append_lock: how many bytes of each chunk this
  // handle has pre-faulted for writing (prefault_ahead()).
  std::array<std::uint64_t, kListMaxChunks> index_ready{};
  std::array<std::uint64_t, kListMaxChunks> data_ready{};
  // A size this handle has seen (item()): a list never shrinks, so an item
  // below it needs no look at `size`, whose line the appender writes on
  // every append. release/acquire: a thread that takes the bound from here
  // sees the entries below it, as the thread that loaded `size` did.
  std::atomic<std::uint64_t> seen_size{0};
};

ListCore::ListCore(ListCore&&) noexcept = default;
ListCore& ListCore::operator=(ListCore&&) noexcept = default;
ListCore::~ListCore() = default;

std::uint64_t ListCore::root_size(const ListShape& shape) {
  const std::uint64_t index0 = round_up(sizeof(ListHead), kCacheLine);
  const std::uint64_t data0 = round_up(index0 + kIndex0Entries * 8, kCacheLine);
  return data0 + data0_bytes_for(shape);
}

SegmentOptions ListCore::root_options(const ListShape& shape, SegmentOptions options) {
  options.kind = Kind::list;
  options.type = shape.type;
  options.initialize = [shape](std::span<std::byte> data) {
    auto* head = ::new (data.data()) ListHead{};
    head->element_size = shape.element_size;
    head->element_align = shape.element_align;
    head->index_chunk0_entries = kIndex0Entries;
    head->data_chunk0_bytes = data0_bytes_for(shape);
    head->index0_offset = round_up(sizeof(ListHead), kCacheLine);
    head->data0_offset = round_up(head->index0_offset + kIndex0Entries * 8, kCacheLine);
    head->data_chunks.store(1, std::memory_order_relaxed);
    head->index_chunks.store(1, std::memory_order_relaxed);
  };
  return options;
}

ListCore ListCore::create(std::string_view name, const ListShape& shape, SegmentOptions options) {
  validate_name(name);
  if (name.size() > kMaxListName) {
    throw Error(Errc::invalid_name, "list name '" + std::string(name) + "' (at most " +
                                        std::to_string(kMaxListName) +
                                        " characters: its chunks add a suffix)");
  }
  return ListCore(Segment::create(name, root_size(shape), root_options(shape, std::move(options))),
                  shape);
}

ListCore ListCore::open(std::string_view name, const ListShape& shape, SegmentOptions options) {
  options.kind = Kind::list;
  options.type = shape.type;
  return ListCore(Segment::open(name, options), shape);
}

ListCore ListCore::open_waiting(std::string_view name, const ListShape& shape,
                                SegmentOptions options, platform::Deadline deadline) {
  validate_name(name);
  const std::string dir = platform::resolve_directory(options.directory);
  platform::wait_for_file(dir, Segment::file_name(name), deadline);
  return open(name, shape, std::move(options));  // not_found if it never came
}

ListCore ListCore::open_or_create(std::string_view name, const ListShape& shape,
                                  SegmentOptions options) {
  validate_name(name);
  if (name.size() > kMaxListName) return create(name, shape, std::move(options));  // throws
  return ListCore(
      Segment::open_or_create(name, root_size(shape), root_options(shape, std::move(options))),
      shape);
}

ListCore ListCore::inspect(std::string_view name, SegmentOptions options) {
  // Any element type: take the shape from the object itself.
  options.any_kind = true;
  options.writable = false;
  Segment probe = Segment::open(name, options);
  if (probe.kind() != Kind::list) {
    throw Error(Errc::wrong_kind, "object '" + std::string(name) + "': it is " +
                                      with_article(kind_name(probe.kind())) + ", not a list");
  }
  ListShape shape;
  shape.type = probe.type();
  if (probe.data().size() >= sizeof(ListHead)) {
    const auto* head = reinterpret_cast<const ListHead*>(probe.data().data());  // NOLINT
    shape.element_size = head->element_size;
    shape.element_align = head->element_align;
  }
  return ListCore(std::move(probe), shape);
}

bool ListCore::remove(std::string_view name, const SegmentOptions& options) {
  validate_name(name);
  // Never remove an object of another kind under the name. One that cannot
  // be opened at once (a creator killed while initialising it) is removed.
  const Occupant there = occupant(name, options);
  if (there.kind && *there.kind != Kind::list) {
    throw Error(Errc::wrong_kind, "object '" + std::string(name) + "': it is " +
                                      with_article(kind_name(*there.kind)) +
                                      ", not a list; not removed");
  }
  // A name too long for chunk names cannot be a list's: no chunks to remove.
  // Chunks first, so that a crash half-way leaves the list itself to remove
  // again. Objects of other kinds named like chunks are not the list's.
  for (std::uint32_t k = 1; k < kListMaxChunks && name.size() <= kMaxListName; ++k) {
    (void)remove_chunk(chunk_name(name, 'i', k), options);
    (void)remove_chunk(chunk_name(name, 'd', k), options);
  }
  return Segment::remove(name, options);
}

ListCore::ListCore(Segment root, const ListShape& expected)
    : root_(std::move(root)), shape_(expected), maps_(std::make_unique<Maps>()) {
  const std::span<std::byte> area = root_.data();
  if (area.size() < sizeof(ListHead)) corrupt(root_, "its data area is smaller than a list head");
  head_ = std::launder(reinterpret_cast<ListHead*>(area.data()));  // NOLINT: mapped layout
  // Copied once, then checked and used as copied (detail/list_geometry.hpp).
  const ListGeometry g = ListGeometry::read(*head_);
  if (g.element_size != expected.element_size || g.element_align != expected.element_align) {
    corrupt(root_, "its element size/alignment (" + std::to_string(g.element_size) + "/" +
                       std::to_string(g.element_align) + ") disagree with its type");
  }
  if (const std::string problem = g.problem(area.size()); !problem.empty()) corrupt(root_, problem);
  index0_entries_ = g.index0_entries;
  data0_bytes_ = g.data0_bytes;
  maps_->index[0].store(area.data() + g.index0_offset, std::memory_order_relaxed);
  maps_->data_bytes[0] = data0_bytes_;
  maps_->data[0].store(area.data() + g.data0_offset, std::memory_order_relaxed);
}

std::span<std::byte> ListCore::map_chunk(char log, std::uint32_t k, std::uint64_t min_bytes) const {
  std::lock_guard lock(maps_->mutex);
  auto& slot = log == 'i' ? maps_->index[k] : maps_->data[k];
  if (std::byte* base = slot.load(std::memory_order_relaxed)) {
    return {base, log == 'i' ? min_bytes : maps_->data_bytes[k]};
  }
  SegmentOptions options;
  options.directory = root_.directory();
  options.kind = Kind::list_chunk;
  options.writable = root_.writable();
  // A chunk is made before anything that names it is published: one that
  // is missing was removed, or the list's size or entries are corrupted.
  const std::string name = chunk_name(root_.name(), log, k);
  std::optional<Segment> opened;
  try {
    opened.emplace(Segment::open(name, options));
  } catch (const Error& e) {
    if (e.code() != make_error_code(Errc::not_found)) throw;
    require_not_removed(root_);
    corrupt(root_, "its chunk '" + name + "' is missing");
  }
  // After the open: a chunk made for a new list of the same name comes after
  // our list's removal, so if our root is still named now, this chunk is ours.
  require_not_removed(root_);
  Segment chunk = std::move(*opened);
  if (chunk.data().size() < min_bytes) {
    corrupt(root_, "chunk " + std::string(1, log) + std::to_string(k) + " is too small");
  }
  const std::span<std::byte> bytes = chunk.data();
  maps_->chunks.push_back(std::move(chunk));
  if (log == 'd') maps_->data_bytes[k] = bytes.size();
  // release: data_bytes[k] is written before a lock-free reader sees data[k].
  slot.store(bytes.data(), std::memory_order_release);
  return bytes;
}

std::span<std::byte> ListCore::make_chunk(char log, std::uint32_t k, std::uint64_t bytes) {
  SegmentOptions options;
  options.directory = root_.directory();
  options.kind = Kind::list_chunk;
  options.mode = root_.mode();
  const std::string name = chunk_name(root_.name(), log, k);
  // We hold the append lock: a chunk of this name can only be one a killed
  // appender made and never published, unless our list was removed and the
  // name reused: then it is the new list's. (A removal and a new list growing
  // to this chunk between this look and the remove below would still lose
  // its chunk: a window of microseconds against a list's whole growth.)
  // Replace it; but an object of another kind under that name is someone
  // else's, which the list must not take.
  require_not_removed(root_);
  if (const std::optional<Kind> other = remove_chunk(name, options)) {
    throw Error(Errc::already_exists,
                "list '" + root_.name() + "': object '" + name + "' (" +
                    with_article(kind_name(*other)) + ") has the name of its next " +
                    (log == 'i' ? "index" : "data") + " chunk; rename or remove that object");
  }
  Segment chunk = Segment::create(name, bytes, options);
  std::lock_guard lock(maps_->mutex);
  const std::span<std::byte> area = chunk.data();
  maps_->chunks.push_back(std::move(chunk));
  auto& slot = log == 'i' ? maps_->index[k] : maps_->data[k];
  if (log == 'd') maps_->data_bytes[k] = area.size();
  slot.store(area.data(), std::memory_order_release);
  return area;
}

std::atomic_ref<std::uint64_t> ListCore::index_slot(std::uint64_t i) const {
  std::uint64_t first = 0;
  const std::uint32_t k = index_chunk_of(i, index0_entries_, first);
  if (k >= kListMaxChunks) corrupt(root_, "index " + std::to_string(i) + " beyond the last chunk");
  auto* entries = reinterpret_cast<std::uint64_t*>(index_chunk(k).data());  // NOLINT: 8-aligned
  return std::atomic_ref<std::uint64_t>(entries[i - first]);
}

std::span<std::byte> ListCore::index_chunk(std::uint32_t k) const {
  const std::uint64_t bytes = index_entries(k) * 8;
  // acquire pairs with make_chunk()'s release in this process.
  if (std::byte* base = maps_->index[k].load(std::memory_order_acquire)) return {base, bytes};
  return map_chunk('i', k, bytes).first(bytes);
}

std::span<std::byte> ListCore::data_chunk(std::uint32_t k) const {
  if (k >= kListMaxChunks) corrupt(root_, "data chunk " + std::to_string(k) + " out of range");
  if (std::byte* base = maps_->data[k].load(std::memory_order_acquire)) {
    return {base, maps_->data_bytes[k]};
  }
  return map_chunk('d', k, 1);
}

std::uint64_t ListCore::record_bytes(std::size_t item_bytes) const {
  if (item_bytes > kListMaxRecord) {
    throw Error(Errc::message_too_large,
                "list '" + root_.name() + "': an item of " + std::to_string(item_bytes) +
                    " bytes exceeds the maximum of " + std::to_string(kListMaxRecord));
  }
  if (shape_.element_size != 0) {
    if (item_bytes != shape_.element_size) {
      throw Error(Errc::type_mismatch, "list '" + root_.name() + "': item of " +
                                           std::to_string(item_bytes) + " bytes, expected " +
                                           std::to_string(shape_.element_size));
    }
    return item_bytes;
  }
  return kLengthPrefix + item_bytes;
}

void ListCore::add_bytes_in_use(std::uint64_t bytes) noexcept {
  // Appenders hold append_lock: a load and a store, not a locked
  // read-modify-write (one of three an append made). relaxed: stat's figure.
  std::atomic<std::uint64_t>& used = head_->bytes_in_use;
  used.store(used.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
}

std::uint64_t ListCore::place(std::uint64_t bytes, std::byte*& at) {
  const std::uint64_t align = shape_.element_size == 0 ? kLengthPrefix : shape_.element_align;
  std::uint32_t k = head_->data_chunks.load(std::memory_order_relaxed) - 1;
  std::span<std::byte> chunk = data_chunk(k);
  std::uint64_t offset = round_up(head_->data_used, align);
  if (offset > chunk.size() || chunk.size() - offset < bytes) {
    const std::uint32_t next = k + 1;
    if (next >= kListMaxChunks) {
      throw Error(Errc::out_of_space, "list '" + root_.name() + "': all " +
                                          std::to_string(kListMaxChunks) + " data chunks are full");
    }
    const std::uint64_t grown =
        data0_bytes_ <= (kMaxDataSize >> next) ? data0_bytes_ << next : kMaxDataSize;
    chunk = make_chunk('d', next, std::min(kMaxDataSize, std::max(grown, round_up(bytes, 4096))));
    // release: the chunk exists before a reader can learn its number.
    head_->data_chunks.store(next + 1, std::memory_order_release);
    // Only then reset data_used, and keep the compiler from moving the reset
    // above the store: an appender killed between the two must leave the new
    // chunk current (with a stale data_used, which at worst wastes its start),
    // never data_used == 0 on the old chunk, where the next appender would
    // overwrite published records.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    head_->data_used = 0;
    k = next;
    offset = 0;
  }
  head_->data_used = offset + bytes;
  add_bytes_in_use(bytes + sizeof(std::uint64_t));
  prefault_ahead(chunk, offset, offset + bytes, maps_->data_ready[k]);
  at = chunk.data() + offset;
  return (std::uint64_t{k} << kListChunkShift) | offset;
}

void ListCore::write_record(std::span<const std::byte> item, std::byte* at) const {
  if (shape_.element_size == 0) {
    const auto length = static_cast<std::uint32_t>(item.size());
    std::memcpy(at, &length, sizeof length);
    at += kLengthPrefix;
  }
  if (!item.empty()) std::memcpy(at, item.data(), item.size());
}

void ListCore::publish(std::uint64_t new_size) noexcept {
  // Dekker with wait_for_size(): we store size, then load waiters; a reader
  // adds itself to waiters, then loads size. Either it sees the new size, or
  // we see it waiting and bump append_seq and wake it (its futex wait on the
  // seq it read before its re-check then returns at once).
  //
  // Light (platform/remote_fence.hpp): the store (release: records and
  // entries first, pairing with the readers' acquire of size) and the load
  // are kept in order by a compiler barrier only; the reader's remote_fence()
  // supplies the CPU fence, so the size line the readers poll costs us no
  // stall. Readers learn to fence from light_appenders. The publish that
  // first raises it is a seq_cst one, so a reader that looked at the flag
  // before it rose (and so did not fence) and then waits is seen by it.
  bool light = platform::light_fences();
  if (light && !light_announced_) {
    head_->light_appenders.store(1, std::memory_order_seq_cst);
    light_announced_ = true;
    light = false;
  }
  if (platform::publish_then_look(head_->size, new_size, head_->waiters, light, kListWaiterCount)) {
    head_->append_seq.fetch_add(1, std::memory_order_seq_cst);
    // Woke nobody: the readers counted are about to sleep, or were just
    // woken, or died asleep; a dead one's count would make every publish a
    // system call. The live ones join the new generation again
    // (platform/waiter_generations.hpp).
    if (platform::futex_wake_all(head_->append_seq) == 0) {
      ListWaiters::drop_and_wake(head_->waiters, head_->append_seq);
    }
  }
}

void ListCore::append(std::span<const std::span<const std::byte>> items) {
  if (items.empty()) return;
  for (const auto& item : items) (void)record_bytes(item.size());  // check all before writing
  LockGuard guard(head_->append_lock);
  // owner_died needs no repair: a killed appender published nothing half-made
  // (see list_layout.hpp), and make_chunk() replaces an unpublished chunk.
  if (closed()) throw Error(Errc::closed, "list '" + root_.name() + "' is closed");
  const std::uint64_t first = head_->size.load(std::memory_order_relaxed);
  for (std::size_t n = 0; n < items.size(); ++n) {
    const std::uint64_t i = first + n;
    std::uint64_t chunk_start = 0;
    const std::uint32_t k = index_chunk_of(i, index0_entries_, chunk_start);
    const std::uint32_t published = head_->index_chunks.load(std::memory_order_relaxed);
    // Checked first: k below it addresses this handle's maps (index_ready[k]).
    if (published > kListMaxChunks) {
      corrupt(root_, "its index chunk count (" + std::to_string(published) +
                         ") exceeds the maximum of " + std::to_string(kListMaxChunks));
    }
    if (k >= published) {
      // Items fill the chunks in order: an item past the published chunks
      // is the first of the next one, whose predecessor exists (chunk 0 is
      // always published). Anything else means a corrupted size or chunk
      // count, and making chunk k would skip chunks and reserve a size the
      // list never reached.
      if (published == 0 || k != published || i != chunk_start) {
        corrupt(root_, "its size (" + std::to_string(first) + ") does not follow its " +
                           std::to_string(published) + " index chunks");
      }
      if (k >= kListMaxChunks) {
        throw Error(Errc::out_of_space, "list '" + root_.name() + "': index is full");
      }
      (void)index_chunk(k - 1);  // Errc::corrupt if it is missing
      make_chunk('i', k, index_entries(k) * 8);
      head_->index_chunks.store(k + 1, std::memory_order_release);
    }
    const std::uint64_t slot = (i - chunk_start) * 8;
    prefault_ahead(index_chunk(k), slot, slot + 8, maps_->index_ready[k]);
    std::byte* at = nullptr;
    const std::uint64_t entry = place(record_bytes(items[n].size()), at);
    write_record(items[n], at);
    // relaxed: published by publish()'s release store of size.
    index_slot(i).store(entry, std::memory_order_relaxed);
  }
  publish(first + items.size());
}

void ListCore::assign(std::uint64_t i, std::span<const std::byte> item) {
  const std::uint64_t bytes = record_bytes(item.size());
  LockGuard guard(head_->append_lock);
  if (i >= size()) {
    throw std::out_of_range("list '" + root_.name() + "': index " + std::to_string(i) +
                            " out of range (size " + std::to_string(size()) + ")");
  }
  std::byte* at = nullptr;
  const std::uint64_t entry = place(bytes, at);
  write_record(item, at);
  // release pairs with item()'s acquire: the new record is complete first.
  index_slot(i).store(entry, std::memory_order_release);
  add_bytes_in_use(0 - sizeof(std::uint64_t));  // no new entry: wraps to a subtraction
}

std::span<const std::byte> ListCore::item(std::uint64_t i) const {
  // A reader walking the list loads the shared size when it reaches the end
  // it saw, not once per item ("List appends without page faults",
  // BENCHMARKS.md: with the appender's faults gone, those loads cost a third
  // of the stream).
  std::uint64_t n = maps_->seen_size.load(std::memory_order_acquire);
  if (i >= n) {
    n = size();
    if (i >= n) {
      throw std::out_of_range("list '" + root_.name() + "': index " + std::to_string(i) +
                              " out of range (size " + std::to_string(n) + ")");
    }
    // Another thread may store a smaller size it saw: still a true bound.
    maps_->seen_size.store(n, std::memory_order_release);
  }
  // acquire pairs with assign()'s release (append's entries are covered by size).
  const std::uint64_t entry = index_slot(i).load(std::memory_order_acquire);
  const auto k = static_cast<std::uint32_t>(entry >> kListChunkShift);
  const std::uint64_t offset = entry & kListOffsetMask;
  // Never trust the entry: it must name a published chunk and lie inside it.
  // Only item 0 lies at the very start (records never move back there): a
  // zero entry elsewhere was never written, so the size is corrupted.
  if (entry == 0 && i != 0) {
    corrupt(root_,
            "item " + std::to_string(i) + " was never written (size " + std::to_string(n) + ")");
  }
  // A chunk this handle has mapped needs no look at data_chunks, which shares
  // the appenders' lock line: only one that was published gets mapped (or
  // one this process's appender made, published in the same append).
  if (k >= kListMaxChunks || (maps_->data[k].load(std::memory_order_relaxed) == nullptr &&
                              k >= head_->data_chunks.load(std::memory_order_acquire))) {
    corrupt(root_, "item " + std::to_string(i) + " names an unpublished chunk");
  }
  // A fixed-size item is used in place as a T: at its alignment (a chunk
  // starts page-aligned, chunk 0 on a cache line), or a misaligned T.
  if (shape_.element_size != 0 && offset % shape_.element_align != 0) {
    corrupt(root_, "item " + std::to_string(i) + " is not aligned to " +
                       std::to_string(shape_.element_align) + " bytes");
  }
  const std::span<const std::byte> chunk = data_chunk(k);
  std::uint64_t length = shape_.element_size;
  std::uint64_t start = offset;
  if (shape_.element_size == 0) {
    if (offset > chunk.size() || chunk.size() - offset < kLengthPrefix) {
      corrupt(root_, "item " + std::to_string(i) + " lies outside its chunk");
    }
    std::uint32_t stored = 0;
    std::memcpy(&stored, chunk.data() + offset, sizeof stored);
    length = stored;
    start = offset + kLengthPrefix;
  }
  if (start > chunk.size() || chunk.size() - start < length) {
    corrupt(root_, "item " + std::to_string(i) + " lies outside its chunk");
  }
  return chunk.subspan(start, length);
}

bool ListCore::wait_for_size(std::uint64_t n, platform::Deadline deadline) const noexcept {
  using Clock = std::chrono::steady_clock;
  // A spin first (platform::ChannelSpin): an appender under way publishes
  // sooner than a sleep and a wake-up would take; a wake-up costs the
  // appender a system call, and a busy appender pauses that long now and then
  // anyway, to fault in a fresh page of a chunk.
  if (size() >= n) return true;
  platform::ChannelSpin spin(spin_budget_);
  if (spin.run([&] { return size() >= n; }, deadline)) return true;
  bool fenced = false;
  std::uint64_t joined = join_waiters(fenced);
  bool reached = false;
  for (;;) {
    // Read seq before re-checking: a publish after this changes it, so the
    // futex wait below returns at once instead of sleeping through it.
    const std::uint32_t seq = head_->append_seq.load(std::memory_order_seq_cst);
    if (size() >= n) {
      reached = true;
      break;
    }
    if (closed()) break;
    // An appender started a new generation of waiters (drop_and_wake()): we
    // are no longer counted, so no publish would wake us. Join it and look
    // again before sleeping.
    if (ListWaiters::dropped(head_->waiters, joined)) {
      joined = join_waiters(fenced);
      continue;
    }
    // A writer killed between publishing and waking would leave us asleep:
    // sleep in bounded slices and look again. While an append is under way
    // (the lock is held) a slice is one dead-owner check interval; while no
    // one appends, a second, which costs nothing measurable.
    const auto slice =
        !fenced ? std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(1))
        : head_->append_lock.locked()
            ? std::chrono::duration_cast<Clock::duration>(sync::kDeadOwnerCheck)
            : Clock::duration(std::chrono::seconds(1));
    const Clock::time_point slice_end = Clock::now() + slice;
    const bool deadline_first = deadline && *deadline <= slice_end;
    const auto woke =
        platform::futex_wait(head_->append_seq, seq, deadline_first ? *deadline : slice_end);
    if (woke == platform::FutexWait::timed_out && deadline_first) {
      reached = size() >= n;
      break;
    }
  }
  ListWaiters::leave(head_->waiters, joined);
  return reached;
}

std::uint64_t ListCore::join_waiters(bool& fenced) const noexcept {
  // Before the look at size: Dekker with publish().
  const std::uint64_t joined = ListWaiters::join(head_->waiters);
  // A light appender's publish has no CPU fence of its own: ours stands for
  // it (see publish()). If the kernel refuses it, sleep in short slices.
  fenced = head_->light_appenders.load(std::memory_order_seq_cst) == 0 || platform::remote_fence();
  return joined;
}

void ListCore::close() {
  LockGuard guard(head_->append_lock);
  head_->closed.store(1, std::memory_order_release);
  // Under the lock, as every publish: light_announced_ is a plain bool, and
  // another thread of this handle may be appending.
  publish(size());  // wakes every waiter
}

std::uint32_t ListCore::chunks() const noexcept {
  return head_->data_chunks.load(std::memory_order_relaxed) +
         head_->index_chunks.load(std::memory_order_relaxed);
}

}  // namespace shmkit::detail
