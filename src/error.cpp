#include "shmkit/error.hpp"

#include <cerrno>

namespace shmkit {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "shmkit"; }

  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::not_found: return "not found";
      case Errc::already_exists: return "already exists";
      case Errc::invalid_name: return "invalid name";
      case Errc::permission_denied: return "permission denied";
      case Errc::wrong_kind: return "wrong kind of object";
      case Errc::type_mismatch: return "element type mismatch";
      case Errc::version_mismatch: return "layout version mismatch";
      case Errc::corrupt: return "corrupt or foreign object";
      case Errc::timeout: return "timed out";
      case Errc::closed: return "closed";
      case Errc::full: return "full";
      case Errc::message_too_large: return "message too large";
      case Errc::owner_died: return "previous owner died";
      case Errc::out_of_space: return "out of space";
      case Errc::process_failed: return "process failed";
    }
    return "unknown shmkit error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), category()}; }

std::error_code errno_to_error_code(int err) noexcept {
  switch (err) {
    case ENOENT: return Errc::not_found;
    case EEXIST: return Errc::already_exists;
    case EACCES:
    case EPERM: return Errc::permission_denied;
    case ENOSPC: return Errc::out_of_space;
    case ETIMEDOUT: return Errc::timeout;
    case ENAMETOOLONG: return Errc::invalid_name;
    default: return {err, std::system_category()};
  }
}

Error Error::verbatim(std::error_code code, const std::string& message) {
  Error error(code, message);
  error.verbatim_ = std::make_shared<const std::string>(message);
  return error;
}

const char* Error::what() const noexcept {
  return verbatim_ ? verbatim_->c_str() : std::system_error::what();
}

void throw_errno(int err, const std::string& what) {
  // system_error appends the code's message: "cannot open X: permission denied".
  throw Error(errno_to_error_code(err), what);
}

}  // namespace shmkit
