#pragma once

#include <memory>
#include <string>
#include <system_error>

// shmkit's one exception type and its error codes.
//
// Setup paths (create, open, map, validate, allocate) throw shmkit::Error.
// Routine outcomes on hot paths (full, empty, timed out, previous owner died)
// are return values, never exceptions. Thread-safe: all functions are pure.

namespace shmkit {

enum class Errc {
  not_found = 1,      // no object of that name
  already_exists,     // exclusive create found one
  invalid_name,       // name not 1..200 of [A-Za-z0-9._-]
  permission_denied,  // mode bits refuse us
  wrong_kind,         // e.g. opened a queue as a list
  type_mismatch,      // stored element type differs from the requested one
  version_mismatch,   // layout written by another shmkit layout version
  corrupt,            // header or indices fail validation; not a shmkit object
  timeout,            // a bounded wait expired
  closed,             // the object was closed by a peer
  full,               // no room, in a call that cannot wait
  message_too_large,  // larger than the object's maximum
  owner_died,         // a lock owner died; the state it protected may need repair
  out_of_space,       // /dev/shm (or SHMKIT_DIR) has no room to reserve the memory
  process_failed,     // a child Process exited non-zero, threw, or was killed by a signal
};

}  // namespace shmkit

template <>
struct std::is_error_code_enum<shmkit::Errc> : std::true_type {};

namespace shmkit {

// The category of Errc; name() is "shmkit".
const std::error_category& category() noexcept;

std::error_code make_error_code(Errc e) noexcept;

// The one exception type. Callers branch on code(); what() carries context:
// the object's name and what is wrong with it, then ": " and the code's message
// ("cannot open object 'x' (...): not found").
class Error : public std::system_error {
 public:
  using std::system_error::system_error;

  // An Error whose what() is `message` alone, for a message that already says
  // what the code's message would ("process 'x' (pid 7) failed: ..."), and
  // could be nested in another one (a child forwarding its own check()).
  static Error verbatim(std::error_code code, const std::string& message);

  [[nodiscard]] const char* what() const noexcept override;

 private:
  // Shared, so that copying an Error (as a throw may) cannot throw.
  std::shared_ptr<const std::string> verbatim_;
};

// Throws Error for errno `err` with context `what` ("shm_open 'shmkit.x'"),
// mapping the errnos that have an Errc (ENOENT, EEXIST, EACCES, ENOSPC...) to it.
[[noreturn]] void throw_errno(int err, const std::string& what);

// The Errc an errno corresponds to, if any (ENOENT -> not_found ...).
std::error_code errno_to_error_code(int err) noexcept;

}  // namespace shmkit
