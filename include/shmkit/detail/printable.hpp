#pragma once

#include <string>
#include <string_view>

// Text from outside (a header's type name, a caller's object name, a
// directory) made safe for a one-line message on a terminal, or for a command
// the message suggests.

namespace shmkit::detail {

// `text` with every byte outside printable ASCII (and the backslash) shown as
// \xNN: a NUL would cut the message short, a newline split it.
std::string printable(std::string_view text);

// `text` as one word a POSIX shell reads back unchanged: as it is when it
// holds only A-Z a-z 0-9 and _ . / - + , : = @ %, else in single quotes (a
// quote inside as '\''). Empty text is ''.
std::string shell_word(std::string_view text);

// `word` after its indefinite article, for a message: "a mutex", "an array",
// "an event" ("an" before a vowel).
std::string with_article(std::string_view word);

// The command that removes object `name`, for a message to show: with --dir
// when `directory` is not empty, and `--` before a name that looks like an
// option. A directory holding a byte printable() escapes is shown escaped.
std::string rm_command(std::string_view name, std::string_view directory);

}  // namespace shmkit::detail
