#include "kind_state.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "shmkit/platform/process.hpp"

namespace shmkit::cli {

void describe_kind_state(const Segment& segment, Report& report) {
  const std::string label(kind_name(segment.kind()));
  using Describer = void (*)(const Segment&, Report&);
  Describer describe = nullptr;
  switch (segment.kind()) {
    case Kind::bytes: describe = &describe_bytes_state; break;
    case Kind::mutex: describe = &describe_mutex_state; break;
    case Kind::semaphore: describe = &describe_semaphore_state; break;
    case Kind::event: describe = &describe_event_state; break;
    case Kind::condition: describe = &describe_condition_state; break;
    case Kind::barrier: describe = &describe_barrier_state; break;
    case Kind::value: describe = &describe_value_state; break;
    case Kind::array: describe = &describe_array_state; break;
    case Kind::list: describe = &describe_list_state; break;
    case Kind::list_chunk: describe = &describe_list_chunk_state; break;
    case Kind::queue: describe = &describe_queue_state; break;
    case Kind::pipe: describe = &describe_pipe_state; break;
  }
  if (describe != nullptr) {
    describe(segment, report.add_section("kind_state", label));
    return;
  }
  // A kind this build does not know: its header says what it is.
  report.add("kind_state", label, Json::object(), "(not described by this build of shmkit)");
}

void add_problem(Report& section, const std::string& what) {
  section.add("problem", "problem", what);
}

Json identity_json(std::uint64_t packed, const std::string& id_key) {
  const ProcessIdentity who = ProcessIdentity::unpack(packed);
  return Json{{id_key, who.pid}, {"start_ticks", who.start_ticks}, {"alive", is_alive(who)}};
}

std::string identity_text(std::uint64_t packed, const std::string& id_key) {
  const ProcessIdentity who = ProcessIdentity::unpack(packed);
  return id_key + " " + std::to_string(who.pid) + ", start ticks " +
         std::to_string(who.start_ticks) + ", " + (is_alive(who) ? "alive" : "dead");
}

void describe_mutex(const sync::MutexState& mutex, Report& section) {
  // relaxed: a snapshot; nothing else is read on the strength of it.
  const std::uint64_t owner = mutex.owner.load(std::memory_order_relaxed);
  const std::uint32_t waiters = mutex.waiting();
  const bool held = owner != 0 && owner != sync::MutexState::kUnrepaired;
  section.add("locked", "locked", held, held ? "yes" : "no");
  if (owner == sync::MutexState::kUnrepaired) {
    section.add("owner", "owner", "unrepaired",
                "none; released unrepaired after a holder died (the next locker is told "
                "owner_died)");
  } else if (owner != 0) {
    const bool alive = is_alive(ProcessIdentity::unpack(owner));
    section.add("owner", "owner", identity_json(owner, "tid"),
                identity_text(owner, "tid") +
                    (alive ? "" : " (died holding it: the next locker takes it over)"));
  } else {
    section.add("owner", "owner", nullptr, "none");
  }
  section.add("waiters", "waiters", waiters,
              std::to_string(waiters) +
                  " (lockers asleep or about to sleep; one killed while "
                  "waiting stays counted until an unlock wakes nobody)");
}

bool is_arithmetic_type(const TypeFingerprint& type) {
  static constexpr std::array<std::pair<std::string_view, std::uint32_t>, 12> kTypes{{
      {"bool", 1},
      {"char", 1},
      {"int8", 1},
      {"uint8", 1},
      {"int16", 2},
      {"uint16", 2},
      {"int32", 4},
      {"uint32", 4},
      {"int64", 8},
      {"uint64", 8},
      {"float32", 4},
      {"float64", 8},
  }};
  const std::string name = type.name_string();
  return std::any_of(kTypes.begin(), kTypes.end(),
                     [&](const auto& t) { return t.first == name && t.second == type.size; });
}

Json element_value(const std::string& type_name, std::span<const std::byte> bytes) {
  const auto read = [&bytes](auto value) -> Json {
    if (bytes.size() != sizeof(value)) return nullptr;
    std::memcpy(&value, bytes.data(), sizeof(value));
    return value;
  };
  if (type_name == "bool") {
    if (bytes.size() != 1) return nullptr;
    const auto byte = static_cast<unsigned>(bytes[0]);
    return byte <= 1 ? Json(byte == 1) : Json(nullptr);  // another byte is not a bool
  }
  if (type_name == "char" || type_name == "int8") return read(std::int8_t{});
  if (type_name == "uint8") return read(std::uint8_t{});
  if (type_name == "int16") return read(std::int16_t{});
  if (type_name == "uint16") return read(std::uint16_t{});
  if (type_name == "int32") return read(std::int32_t{});
  if (type_name == "uint32") return read(std::uint32_t{});
  if (type_name == "int64") return read(std::int64_t{});
  if (type_name == "uint64") return read(std::uint64_t{});
  if (type_name == "float32") return read(float{});
  if (type_name == "float64") return read(double{});
  return nullptr;
}

std::string hex_bytes(std::span<const std::byte> bytes, std::size_t max) {
  std::string text;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    std::array<char, 4> buf{};
    std::snprintf(buf.data(), buf.size(), "%02x", static_cast<unsigned>(bytes[i]));
    text += buf.data();
  }
  if (bytes.size() > max) text += "...";
  return text;
}

bool valid_alignment(std::uint64_t align) {
  return std::has_single_bit(align) && align <= detail::kDataAlignment;
}

}  // namespace shmkit::cli
