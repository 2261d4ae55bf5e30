#include "signal_stop.hpp"

#include <cstring>

namespace shmkit::cli {

std::string interrupted_by(int signal) {
  const char* what = ::sigdescr_np(signal);  // strsignal()'s text, thread-safe
  return "interrupted by signal " + std::to_string(signal) + " (" +
         (what != nullptr ? what : "unknown signal") + ")";
}

}  // namespace shmkit::cli
