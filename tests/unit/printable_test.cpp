// Text in messages (detail/printable.hpp): escaping for one line, and the
// shell words of the commands a message suggests, checked by a real shell.

#include "shmkit/detail/printable.hpp"

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shmkit::detail {
namespace {

// What `sh -c 'printf %s WORD'` prints: the word as the shell reads it.
std::string shell_reads(const std::string& word) {
  const std::string command = "printf %s " + word;
  FILE* const pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "<popen failed>";
  std::string out;
  std::array<char, 256> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  ::pclose(pipe);
  return out;
}

TEST(Printable, EscapesWhatWouldBreakTheLine) {
  EXPECT_EQ(printable("plain name-1.x"), "plain name-1.x");
  EXPECT_EQ(printable(std::string("a\0b\nc\\", 6)), "a\\x00b\\x0ac\\x5c");
}

TEST(ShellWord, ThePlainStayAsTheyAre) {
  for (const std::string word : {"/dev/shm", "jobs.i1", "a-b_c", "x=1,y:2@h%3+4"}) {
    EXPECT_EQ(shell_word(word), word);
  }
}

TEST(ShellWord, TheShellReadsEveryWordBackUnchanged) {
  const std::vector<std::string> words = {
      "/tmp/with space",
      "it's",
      "'",
      "''",
      "$HOME",
      "`id`",
      "a;b",
      "a|b&c",
      "*",
      "~",
      "-n",
      "a\"b\"",
      "\\",
      "{a,b}",
      "!x",
      "#x",
      "tab\there",
      "new\nline",
      "(x)",
      "<in >out",
      "",
  };
  for (const std::string& word : words) {
    const std::string quoted = shell_word(word);
    EXPECT_EQ(shell_reads(quoted), word) << "shell word: " << quoted;
  }
}

TEST(RmCommand, NamesTheDirectoryAsAShellWord) {
  EXPECT_EQ(rm_command("jobs", ""), "shmkit rm jobs");
  EXPECT_EQ(rm_command("jobs", "/dev/shm"), "shmkit --dir /dev/shm rm jobs");
  EXPECT_EQ(rm_command("jobs", "/tmp/a b"), "shmkit --dir '/tmp/a b' rm jobs");
  EXPECT_EQ(rm_command("jobs", "/tmp/it's"), "shmkit --dir '/tmp/it'\\''s' rm jobs");
}

TEST(RmCommand, PutsDoubleDashBeforeANameThatLooksLikeAnOption) {
  EXPECT_EQ(rm_command("-jobs", ""), "shmkit rm -- -jobs");
  EXPECT_EQ(rm_command("--help", "/x"), "shmkit --dir /x rm -- --help");
}

TEST(RmCommand, StaysOnOneLine) {
  EXPECT_EQ(rm_command("jobs", "/tmp/new\nline"), "shmkit --dir '/tmp/new\\x0aline' rm jobs");
}

}  // namespace
}  // namespace shmkit::detail
