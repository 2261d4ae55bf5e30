#pragma once

#include <string>
#include <string_view>

// Text from outside (a header's type name, a caller's object name) made safe
// for a one-line message on a terminal.

namespace shmkit::detail {

// `text` with every byte outside printable ASCII (and the backslash) shown as
// \xNN: a NUL would cut the message short, a newline split it.
std::string printable(std::string_view text);

}  // namespace shmkit::detail
