#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "shmkit/detail/list_core.hpp"
#include "shmkit/detail/named_state.hpp"

// List<T>: a named, growable list shared by any number of processes (what
// Python's Manager().list() is used for), for trivially copyable T and for
// std::string (variable-length items).
//
//   auto list = shmkit::List<int>::create("demo");         // writer
//   list.append(42);
//   auto seen = shmkit::List<int>::open("demo");           // reader
//   if (seen.wait_for_size(1, std::chrono::seconds(2)))    // sleeps, no polling
//     std::cout << seen[0] << '\n';
//
// Guarantees:
// - append/extend from any number of processes and threads at once; each
//   extend is published as a whole, in one piece, in the order of the lock.
// - Readers take no lock and never see a half-written item: an item becomes
//   visible only when complete. Items never move: a reference or string_view
//   stays valid (and keeps its value, even if the item is later reassigned)
//   while the handle lives.
// - Memory grows with the content: chunks of doubling size, each reserved
//   (posix_fallocate) before it is written, so a full /dev/shm is
//   Errc::out_of_space from append, never a SIGBUS. Chunks are objects named
//   NAME.i1, NAME.d1, ... NAME.d39: an object of another kind under one of
//   those names is never replaced or removed, and an append that needs the
//   name fails with Errc::already_exists naming it.
// - A writer killed mid-append leaves nothing half-published; readers are
//   never blocked by it (one killed between publishing an item and waking the
//   readers delays their wake-up by at most a second), and the next writer
//   carries on. A reader killed anywhere affects nobody.
// - close(): no more appends (Errc::closed); waiters wake at once.
//
// Not offered, because items never move and readers take no lock: insert,
// remove, pop, del, sort, reverse, slice assignment, and shrinking. Item
// assignment (set) writes a new record and repoints the index, so it costs
// new memory each time. A handle is move-only; its operations are thread-safe.

namespace shmkit {

namespace detail {
template <class T>
ListShape list_shape() {
  if constexpr (std::is_same_v<T, std::string>) {
    return {0, 1, TypeFingerprint::make(1, 1, "string")};
  } else {
    static_assert(std::is_trivially_copyable_v<T>, "List<T> needs a trivially copyable T");
    static_assert(alignof(T) <= kCacheLine, "List<T> supports alignments up to 64");
    return {sizeof(T), alignof(T), TypeFingerprint::of<T>()};
  }
}
}  // namespace detail

template <class T>
class List {
  static constexpr bool kIsString = std::is_same_v<T, std::string>;

 public:
  // What reading an item gives: a reference into shared memory, or a view.
  using const_reference = std::conditional_t<kIsString, std::string_view, const T&>;
  using value_type = T;
  using size_type = std::uint64_t;
  // What append takes: the item, or for strings any string_view (no copy).
  using argument_type = std::conditional_t<kIsString, std::string_view, const T&>;

  static List create(std::string_view name, const SegmentOptions& options = {}) {
    return List(detail::ListCore::create(name, detail::list_shape<T>(), options));
  }
  static List open(std::string_view name, const SegmentOptions& options = {}) {
    return List(detail::ListCore::open(name, detail::list_shape<T>(), options));
  }
  // Waits up to `timeout` for a list of that name to appear (another process
  // may not have created it yet), then opens it; Errc::not_found after that.
  template <class Rep, class Period>
  static List open_waiting(std::string_view name, std::chrono::duration<Rep, Period> timeout,
                           const SegmentOptions& options = {}) {
    return List(detail::ListCore::open_waiting(name, detail::list_shape<T>(), options,
                                               detail::deadline_after(timeout)));
  }
  static List open_or_create(std::string_view name, const SegmentOptions& options = {}) {
    return List(detail::ListCore::open_or_create(name, detail::list_shape<T>(), options));
  }
  // Removes the list and its chunks; false if there was none. Errc::wrong_kind,
  // removing nothing, if NAME is an object of another kind. Objects of other
  // kinds named like its chunks are left alone. A handle open on the list
  // keeps reading what it had mapped; an append or a read that needs a chunk
  // it had not mapped throws Errc::not_found (the list was removed), and never
  // takes a chunk of a new list made under the same name.
  static bool remove(std::string_view name, const SegmentOptions& options = {}) {
    return detail::ListCore::remove(name, options);
  }

  void append(argument_type item) {
    const std::span<const std::byte> one[] = {bytes_of(item)};
    core_.append(one);
  }
  // Appends all of `items`, published together. Any range of items convertible
  // to T (for strings: to std::string_view, or made as std::string).
  template <class Range>
  void extend(const Range& items) {
    using Item = std::ranges::range_reference_t<const Range>;
    // Lvalues of T (of anything that views as a string) outlive this call: their
    // bytes are appended in place. Other items (converted, or made on the fly by
    // a view) are copied first, or the spans would point at dead temporaries.
    constexpr bool kInPlace = std::is_lvalue_reference_v<Item> &&
                              (kIsString ? std::is_convertible_v<Item, std::string_view>
                                         : std::is_same_v<std::remove_cvref_t<Item>, T>);
    std::vector<std::span<const std::byte>> spans;
    if constexpr (kInPlace) {
      for (const auto& item : items) spans.push_back(bytes_of(item));
      core_.append(spans);
    } else {
      std::vector<T> owned;
      for (auto&& item : items) owned.emplace_back(std::forward<decltype(item)>(item));
      spans.reserve(owned.size());
      for (const T& item : owned) spans.push_back(bytes_of(item));
      core_.append(spans);
    }
  }
  // Replaces item i; std::out_of_range if i >= size().
  void set(size_type i, argument_type item) { core_.assign(i, bytes_of(item)); }

  // Item i; std::out_of_range if i >= size(). The reference stays valid while
  // this handle lives.
  const_reference operator[](size_type i) const { return view(core_.item(i)); }
  const_reference at(size_type i) const { return view(core_.item(i)); }

  [[nodiscard]] size_type size() const noexcept { return core_.size(); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  // Waits until size() >= n: true. False if the list was closed with fewer
  // items, or `timeout` passed. It spins for up to some tens of
  // microseconds (an appender under way publishes sooner than a wake-up
  // takes), less on a handle whose waits have outlasted the spin
  // (platform::SpinBudget), then sleeps (futex).
  template <class Rep, class Period>
  bool wait_for_size(size_type n, std::chrono::duration<Rep, Period> timeout) const noexcept {
    return core_.wait_for_size(n, detail::deadline_after(timeout));
  }
  // As above, without a timeout.
  bool wait_for_size(size_type n) const noexcept { return core_.wait_for_size(n, std::nullopt); }

  // Marks that nothing more will be appended and wakes every waiter.
  void close() { core_.close(); }
  [[nodiscard]] bool closed() const noexcept { return core_.closed(); }

  // The items, copied out.
  [[nodiscard]] std::vector<T> to_vector() const {
    std::vector<T> out;
    const size_type n = size();
    // The last item first: a corrupted size is Errc::corrupt here (its index
    // chunk is missing, or its entry was never written), not a reservation
    // of memory for items that are not there.
    if (n != 0) (void)(*this)[n - 1];
    out.reserve(n);
    for (size_type i = 0; i < n; ++i) out.emplace_back((*this)[i]);
    return out;
  }

  // Iteration over the items present when begin() was called. Named as the
  // standard containers' iterators are, for generic code that expects it.
  class iterator {  // NOLINT(readability-identifier-naming)
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = const_reference;
    using pointer = void;
    iterator() = default;
    iterator(const List* list, size_type i) : list_(list), i_(i) {}
    const_reference operator*() const { return (*list_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++i_;
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

   private:
    const List* list_ = nullptr;
    size_type i_ = 0;
  };
  [[nodiscard]] iterator begin() const { return {this, 0}; }
  [[nodiscard]] iterator end() const { return {this, size()}; }

  [[nodiscard]] const Segment& segment() const noexcept { return core_.segment(); }
  [[nodiscard]] std::uint64_t bytes_in_use() const noexcept { return core_.bytes_in_use(); }

 private:
  explicit List(detail::ListCore core) : core_(std::move(core)) {}

  static std::span<const std::byte> bytes_of(argument_type item) {
    if constexpr (kIsString) {
      return std::as_bytes(std::span<const char>(item.data(), item.size()));
    } else {
      return std::as_bytes(std::span<const T, 1>(&item, 1));
    }
  }
  static const_reference view(std::span<const std::byte> bytes) {
    if constexpr (kIsString) {
      return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT
    } else {
      return *std::launder(reinterpret_cast<const T*>(bytes.data()));  // NOLINT: aligned record
    }
  }

  detail::ListCore core_;
};

}  // namespace shmkit
