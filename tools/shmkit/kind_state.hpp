#pragma once

#include <cstdint>
#include <new>
#include <span>
#include <string>

#include "report.hpp"
#include "shmkit/segment.hpp"
#include "shmkit/sync/mutex_state.hpp"

// What `shmkit stat` shows of an object's own state, beyond the common header.
//
// describe_kind_state() adds a section named after the kind (JSON key
// "kind_state") and hands it to that kind's describer. To teach stat a new
// kind: write kinds/<kind>_state.cpp with a describe_<kind>_state() function,
// declare it here, and add its case to the switch in kind_state.cpp.
//
// A describer only reads: the segment is mapped read-only and not attached.
// Like every reader of shared memory it validates each index, length and
// offset it reads before using it (another process may be writing, buggy or
// dead halfway), and reports what it finds inconsistent instead of trusting it:
// a field "problem" says what, and the fields that could not be trusted are
// left out. What it shows is a snapshot: live objects change while it looks.

namespace shmkit::cli {

void describe_kind_state(const Segment& segment, Report& report);

// One per kind (kinds/*.cpp).
void describe_bytes_state(const Segment& segment, Report& section);
void describe_mutex_state(const Segment& segment, Report& section);
void describe_semaphore_state(const Segment& segment, Report& section);
void describe_event_state(const Segment& segment, Report& section);
void describe_condition_state(const Segment& segment, Report& section);
void describe_barrier_state(const Segment& segment, Report& section);
void describe_value_state(const Segment& segment, Report& section);
void describe_array_state(const Segment& segment, Report& section);
void describe_list_state(const Segment& segment, Report& section);
void describe_list_chunk_state(const Segment& segment, Report& section);
void describe_queue_state(const Segment& segment, Report& section);
void describe_pipe_state(const Segment& segment, Report& section);

// --- helpers for describers (kind_state.cpp) ---

// Adds the field "problem": what is inconsistent in the object.
void add_problem(Report& section, const std::string& what);

// The layout struct T at `offset` of the segment's data area, or nullptr (and
// a problem saying so) if the area is too small to hold it there.
template <class T>
const T* layout_at(const Segment& segment, Report& section, std::uint64_t offset,
                   const char* what) {
  const std::span<std::byte> data = segment.data();
  if (offset > data.size() || data.size() - offset < sizeof(T)) {
    add_problem(section, "its data area (" + std::to_string(data.size()) +
                             " bytes) is too small for " + what);
    return nullptr;
  }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): mapped shared layout
  return std::launder(reinterpret_cast<const T*>(data.data() + offset));
}

// The state of a mutex (named, or embedded in another object's layout):
// "locked", "owner" (thread id, start ticks, alive) and "waiters".
void describe_mutex(const sync::MutexState& mutex, Report& section);

// A process or thread recorded as a packed identity: JSON {id_key, start_ticks,
// alive} and text "<id_key> N, start ticks T, alive|dead".
Json identity_json(std::uint64_t packed, const std::string& id_key);
std::string identity_text(std::uint64_t packed, const std::string& id_key);

// Whether `type` is one of the arithmetic types whose name is stable across
// compilers ("int32", "uint64", "float64", "bool", "char"...), with its size.
bool is_arithmetic_type(const TypeFingerprint& type);

// An element of a known arithmetic type ("int32", "float64", "bool"...), as a
// JSON number or bool, read from `bytes` (which must have its size); null for
// any other type name or size.
Json element_value(const std::string& type_name, std::span<const std::byte> bytes);
// Hex digits of `bytes`, at most `max` of them, "..." after if there are more.
std::string hex_bytes(std::span<const std::byte> bytes, std::size_t max = 64);

// Whether `align` is a power of two no larger than a page: an alignment a
// creator can have recorded.
bool valid_alignment(std::uint64_t align);

}  // namespace shmkit::cli
