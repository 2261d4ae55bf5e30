#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/segment.hpp"
#include "test_support.hpp"

// End-to-end tests of the shmkit tool: each runs the built binary on a private
// directory (--dir or SHMKIT_DIR), except the one that checks the default
// /dev/shm with a unique name, and checks exit codes, output and files.

namespace shmkit {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kCli = SHMKIT_CLI_PATH;

int lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::uint32_t file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<std::uint32_t>(st.st_mode & 07777);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Writes at `dir`/shmkit.NAME a header as a creator leaves it between steps 1
// and 3 of the init protocol: magic, state = initialising, attached[0] = creator.
void write_initialising_object(const std::string& dir, const std::string& name,
                               ProcessIdentity creator) {
  std::string bytes(2 * detail::kDataAlignment, '\0');
  const std::uint32_t magic = detail::kMagic;
  const auto state = static_cast<std::uint32_t>(detail::SegmentState::initialising);
  const std::uint64_t word = creator.pack();
  std::memcpy(bytes.data(), &magic, sizeof magic);
  std::memcpy(bytes.data() + offsetof(detail::SegmentHeader, state), &state, sizeof state);
  std::memcpy(bytes.data() + offsetof(detail::SegmentHeader, attached), &word, sizeof word);
  write_file(dir + "/" + Segment::file_name(name), bytes);
}

// The columns of the ls row for `name`, split on blanks; empty if none.
std::vector<std::string> ls_row(const std::string& out, const std::string& name) {
  std::istringstream lines_in(out);
  std::string line;
  while (std::getline(lines_in, line)) {
    std::istringstream words(line);
    std::vector<std::string> cells;
    std::string word;
    while (words >> word) cells.push_back(word);
    if (!cells.empty() && cells[0] == name) return cells;
  }
  return {};
}

std::optional<json> ls_entry(const json& list, const std::string& name) {
  for (const json& entry : list) {
    if (entry.at("name") == name) return entry;
  }
  return std::nullopt;
}

// Runs the tool on a private directory of its own.
class CliTest : public ::testing::Test {
 protected:
  test::CommandResult shmkit(const std::vector<std::string>& args) {
    std::vector<std::string> argv{kCli, "--dir", dir_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv);
  }
  // Runs with args and parses stdout as JSON, which must be one document.
  json shmkit_json(const std::vector<std::string>& args) {
    const test::CommandResult r = shmkit(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }
  [[nodiscard]] std::string path_of(const std::string& name) const {
    return dir_.path() + "/" + Segment::file_name(name);
  }
  [[nodiscard]] SegmentOptions options() const {
    SegmentOptions o;
    o.directory = dir_.path();
    return o;
  }

  test::TempDir dir_;
};

class CliCreate : public CliTest {};
class CliLs : public CliTest {};
class CliStat : public CliTest {};
class CliRm : public CliTest {};
class CliUsage : public CliTest {};
class CliForeignFile : public CliTest {};

TEST_F(CliCreate, ThenLsShowsItAsTextAndJson) {
  const test::CommandResult created = shmkit({"create", "alpha", "--size", "4096"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.err, "");
  ASSERT_TRUE(fs::exists(path_of("alpha")));

  const test::CommandResult ls = shmkit({"ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls_row(ls.out, "NAME"),
            (std::vector<std::string>{"NAME", "KIND", "SIZE", "MODE", "CREATOR", "ATTACHED"}));
  const std::vector<std::string> row = ls_row(ls.out, "alpha");
  ASSERT_EQ(row.size(), 6u) << ls.out;
  EXPECT_EQ(row[1], "bytes");
  EXPECT_EQ(row[2], "4096");
  EXPECT_EQ(row[3], "0600");
  EXPECT_EQ(row[5], "0");  // the creating shmkit process has exited

  const json list = shmkit_json({"ls", "--json"});
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  const json& entry = list[0];
  EXPECT_EQ(entry.at("name"), "alpha");
  EXPECT_EQ(entry.at("kind"), "bytes");
  EXPECT_EQ(entry.at("type"), "bytes");
  EXPECT_EQ(entry.at("size"), 4096);
  EXPECT_EQ(entry.at("total_size"), 8192);
  EXPECT_EQ(entry.at("mode"), "0600");
  EXPECT_EQ(entry.at("path"), path_of("alpha"));
  EXPECT_EQ(entry.at("creator_pid").get<int>(), std::stoi(row[4]));
  EXPECT_EQ(entry.at("creator_alive"), false);
  EXPECT_EQ(entry.at("attached_alive"), 0);
  EXPECT_EQ(entry.at("attached_dead"), 0);
  EXPECT_EQ(entry.at("stale"), false);
}

TEST_F(CliCreate, SizeSuffixesArePowersOf1024) {
  const std::vector<std::pair<std::string, std::uint64_t>> cases{
      {"1", 1}, {"64K", 65536}, {"3k", 3072}, {"1M", 1048576}};
  for (const auto& [text, bytes] : cases) {
    const std::string name = "s" + text;
    const test::CommandResult r = shmkit({"create", name, "--size", text});
    ASSERT_EQ(r.exit_code, 0) << text << ": " << r.err;
    const json stat = shmkit_json({"stat", name, "--json"});
    EXPECT_EQ(stat.at("data_size").get<std::uint64_t>(), bytes) << text;
    EXPECT_EQ(stat.at("total_size").get<std::uint64_t>(), bytes + 4096) << text;
    EXPECT_EQ(fs::file_size(path_of(name)), bytes + 4096) << text;
  }
}

TEST_F(CliCreate, ModeIsAppliedExactly) {
  ASSERT_EQ(shmkit({"create", "default", "--size", "1K"}).exit_code, 0);
  ASSERT_EQ(shmkit({"create", "shared", "--size", "1K", "--mode", "644"}).exit_code, 0);
  ASSERT_EQ(shmkit({"create", "group", "--size", "1K", "--mode", "0640"}).exit_code, 0);
  EXPECT_EQ(file_mode(path_of("default")), 0600u);
  EXPECT_EQ(file_mode(path_of("shared")), 0644u);
  EXPECT_EQ(file_mode(path_of("group")), 0640u);
  EXPECT_EQ(shmkit_json({"stat", "default", "--json"}).at("mode"), "0600");
  EXPECT_EQ(shmkit_json({"stat", "shared", "--json"}).at("mode"), "0644");
  EXPECT_EQ(shmkit_json({"stat", "group", "--json"}).at("mode"), "0640");
}

TEST_F(CliCreate, ExistingNameFailsWithOneLine) {
  ASSERT_EQ(shmkit({"create", "twice", "--size", "100"}).exit_code, 0);
  const test::CommandResult r = shmkit({"create", "twice", "--size", "200"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("shmkit: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'twice'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(shmkit_json({"stat", "twice", "--json"}).at("data_size"), 100);  // untouched
}

TEST_F(CliCreate, InvalidNameIsRuntimeError) {
  for (const std::string& name :
       std::vector<std::string>{"bad name", "a/b", std::string(201, 'x')}) {
    const test::CommandResult r = shmkit({"create", name, "--size", "100"});
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("invalid name"), std::string::npos) << r.err;
    const test::CommandResult stat = shmkit({"stat", name});
    EXPECT_EQ(stat.exit_code, 1) << name;
    EXPECT_NE(stat.err.find("invalid name"), std::string::npos) << stat.err;
  }
  EXPECT_TRUE(fs::is_empty(dir_.path()));
}

TEST_F(CliStat, PrintsEveryHeaderField) {
  ASSERT_EQ(shmkit({"create", "beta", "--size", "64K"}).exit_code, 0);
  const json s = shmkit_json({"stat", "beta", "--json"});
  EXPECT_EQ(s.at("name"), "beta");
  EXPECT_EQ(s.at("path"), path_of("beta"));
  EXPECT_EQ(s.at("kind"), "bytes");
  EXPECT_EQ(s.at("type"), (json{{"name", "bytes"}, {"size", 1}, {"align", 1}}));
  EXPECT_EQ(s.at("layout_version"), detail::kLayoutVersion);
  EXPECT_EQ(s.at("header_size"), sizeof(detail::SegmentHeader));
  EXPECT_EQ(s.at("total_size"), 65536 + 4096);
  EXPECT_EQ(s.at("data_offset"), 4096);
  EXPECT_EQ(s.at("data_size"), 65536);
  EXPECT_EQ(s.at("mode"), "0600");
  EXPECT_EQ(s.at("owner_uid"), ::getuid());
  EXPECT_EQ(s.at("state"), "ready");
  EXPECT_GT(s.at("creator").at("pid").get<int>(), 0);
  EXPECT_GT(s.at("creator").at("start_ticks").get<std::uint64_t>(), 0u);
  EXPECT_EQ(s.at("creator").at("alive"), false);
  const std::string created = s.at("created");
  // 2024-05-01T12:34:56.123456789Z
  ASSERT_EQ(created.size(), 30u) << created;
  EXPECT_EQ(created[4], '-');
  EXPECT_EQ(created[10], 'T');
  EXPECT_EQ(created[19], '.');
  EXPECT_EQ(created.back(), 'Z');
  EXPECT_EQ(s.at("attached"), json::array());
  EXPECT_EQ(s.at("stale"), false);
  EXPECT_EQ(s.at("kind_state"), (json{{"size", 65536}}));

  const test::CommandResult text = shmkit({"stat", "beta"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* label :
       {"name:", "path:", "kind:", "type:", "layout version:", "total size:", "data offset:",
        "data size:", "mode:", "owner uid:", "state:", "creator:", "created:", "attached:"}) {
    EXPECT_NE(text.out.find(label), std::string::npos) << label << " in\n" << text.out;
  }
  EXPECT_NE(text.out.find(created), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("0600"), std::string::npos) << text.out;
}

TEST_F(CliStat, ShowsAttachedProcesses) {
  ASSERT_EQ(shmkit({"create", "held", "--size", "100"}).exit_code, 0);
  const Segment held = Segment::open("held", options());  // attaches this process
  const json s = shmkit_json({"stat", "held", "--json"});
  ASSERT_EQ(s.at("attached").size(), 1u) << s.dump();
  EXPECT_EQ(s.at("attached")[0].at("pid"), ::getpid());
  EXPECT_EQ(s.at("attached")[0].at("start_ticks"), ProcessIdentity::self().start_ticks);
  EXPECT_EQ(s.at("attached")[0].at("alive"), true);
  const json list = shmkit_json({"ls", "--json"});
  EXPECT_EQ(ls_entry(list, "held")->at("attached_alive"), 1);
  EXPECT_EQ(ls_row(shmkit({"ls"}).out, "held").at(5), "1");
}

TEST_F(CliStat, MissingObjectIsOneLineError) {
  const test::CommandResult r = shmkit({"stat", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "shmkit: cannot open object 'nope' (" + path_of("nope") + "): not found\n");
}

TEST_F(CliLs, EmptyDirectoryListsNothing) {
  const test::CommandResult ls = shmkit({"ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(lines(ls.out), 1) << ls.out;  // the column titles only
  EXPECT_EQ(shmkit_json({"ls", "--json"}), json::array());
}

TEST_F(CliLs, MissingDirectoryIsOneLineError) {
  const test::CommandResult ls = test::run_command({kCli, "--dir", dir_.path() + "/absent", "ls"});
  EXPECT_EQ(ls.exit_code, 1);
  EXPECT_EQ(ls.out, "");
  EXPECT_EQ(lines(ls.err), 1) << ls.err;
  EXPECT_NE(ls.err.find(dir_.path() + "/absent"), std::string::npos) << ls.err;
}

// An empty --dir (an unset shell variable, say) is a usage error, never the
// default directory.
TEST_F(CliLs, AnEmptyDirIsAUsageError) {
  const test::CommandResult ls = test::run_command({kCli, "--dir", "", "ls"});
  EXPECT_EQ(ls.exit_code, 2);
  EXPECT_EQ(ls.out, "");
  EXPECT_NE(ls.err.find("--dir"), std::string::npos) << ls.err;
}

// What a command prints must reach stdout: a full disk is exit 1, with one
// line saying so, not a success with the output lost.
TEST_F(CliLs, AFailedWriteToStdoutExitsOne) {
  ASSERT_EQ(shmkit({"create", "eps", "--size", "10"}).exit_code, 0);
  for (const std::string command : {"ls", "ls --json", "stat eps", "--help"}) {
    const std::string line =
        "'" + std::string(kCli) + "' --dir '" + dir_.path() + "' " + command + " > /dev/full";
    const test::CommandResult r = test::run_command({"/bin/sh", "-c", line});
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_EQ(lines(r.err), 1) << command << ": " << r.err;
    EXPECT_NE(r.err.find("writing to stdout"), std::string::npos) << command << ": " << r.err;
  }
}

TEST_F(CliLs, DirOptionMayFollowTheCommand) {
  ASSERT_EQ(shmkit({"create", "gamma", "--size", "10"}).exit_code, 0);
  const test::CommandResult ls = test::run_command({kCli, "ls", "--json", "--dir", dir_.path()});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  const json list = json::parse(ls.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("name"), "gamma");
}

TEST_F(CliLs, ShmkitDirSelectsTheDirectory) {
  ::unsetenv("SHMKIT_DIR");  // so that ours is the only one the child sees
  const std::vector<std::string> env{"SHMKIT_DIR=" + dir_.path()};
  const test::CommandResult created =
      test::run_command({kCli, "create", "delta", "--size", "10"}, env);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_TRUE(fs::exists(path_of("delta")));
  const test::CommandResult ls = test::run_command({kCli, "ls", "--json"}, env);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(ls_entry(json::parse(ls.out), "delta").has_value()) << ls.out;
  EXPECT_EQ(test::run_command({kCli, "rm", "delta"}, env).exit_code, 0);
  EXPECT_FALSE(fs::exists(path_of("delta")));
}

TEST_F(CliRm, RemovesTheObject) {
  ASSERT_EQ(shmkit({"create", "doomed", "--size", "100"}).exit_code, 0);
  const test::CommandResult r = shmkit({"rm", "doomed"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(fs::exists(path_of("doomed")));
  EXPECT_EQ(shmkit_json({"ls", "--json"}), json::array());
}

TEST_F(CliRm, MissingNameIsOneLineError) {
  const test::CommandResult r = shmkit({"rm", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "shmkit: cannot remove object 'nope' (" + path_of("nope") + "): not found\n");
}

TEST_F(CliRm, GoesOnPastAFailure) {
  ASSERT_EQ(shmkit({"create", "one", "--size", "100"}).exit_code, 0);
  ASSERT_EQ(shmkit({"create", "two", "--size", "100"}).exit_code, 0);
  const test::CommandResult r = shmkit({"rm", "one", "nope", "two"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("'nope'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path_of("one")));
  EXPECT_FALSE(fs::exists(path_of("two")));
}

// A process that opens the objects NAMES (attaching to each), then waits to be
// killed; the constructor returns once it has attached.
class AttachedChild {
 public:
  AttachedChild(const std::vector<std::string>& names, const SegmentOptions& options) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = test::fork_child([&] {
      ::close(fds[0]);
      std::vector<Segment> held;
      for (const std::string& name : names) held.push_back(Segment::open(name, options));
      const char byte = 1;
      if (::write(fds[1], &byte, 1) != 1) throw std::runtime_error("write failed");
      for (;;) ::pause();
    });
    ::close(fds[1]);
    char byte = 0;
    const bool attached = ::read(fds[0], &byte, 1) == 1;  // EOF if the child failed
    ::close(fds[0]);
    if (!attached) {
      test::wait_exit_code(pid_);
      throw std::runtime_error("child failed to attach");
    }
    identity_ = ProcessIdentity::of(pid_).value();
  }
  AttachedChild(const AttachedChild&) = delete;
  AttachedChild& operator=(const AttachedChild&) = delete;
  ~AttachedChild() {
    if (pid_ > 0) kill();
  }
  // SIGKILL, then reap: afterwards the process is dead, not a zombie.
  int kill() {
    ::kill(pid_, SIGKILL);
    const int code = test::wait_exit_code(pid_);
    pid_ = 0;
    return code;
  }
  [[nodiscard]] ProcessIdentity identity() const { return identity_; }

 private:
  pid_t pid_ = 0;
  ProcessIdentity identity_;
};

TEST_F(CliRm, StaleRemovesOnlyObjectsWhoseAttachedProcessesAllDied) {
  for (const char* name : {"dead", "mixed", "live", "idle"}) {
    ASSERT_EQ(shmkit({"create", name, "--size", "100"}).exit_code, 0) << name;
  }
  const Segment live = Segment::open("live", options());
  const Segment mixed = Segment::open("mixed", options());
  AttachedChild child({"dead", "mixed"}, options());
  const ProcessIdentity dead_creator = child.identity();
  ASSERT_EQ(child.kill(), 128 + SIGKILL);
  ASSERT_FALSE(is_alive(dead_creator));
  // Stuck initialising: its creator died halfway (stale), or is still at it (not).
  write_initialising_object(dir_.path(), "stuck", dead_creator);
  write_initialising_object(dir_.path(), "creating", ProcessIdentity::self());
  write_file(path_of("junk"), "hello, not shared memory");

  const json list = shmkit_json({"ls", "--json"});
  ASSERT_EQ(list.size(), 7u) << list.dump(2);
  EXPECT_EQ(ls_entry(list, "dead")->at("attached_dead"), 1);
  EXPECT_EQ(ls_entry(list, "dead")->at("attached_alive"), 0);
  EXPECT_EQ(ls_entry(list, "mixed")->at("attached_dead"), 1);
  EXPECT_EQ(ls_entry(list, "mixed")->at("attached_alive"), 1);
  EXPECT_EQ(ls_entry(list, "stuck")->at("kind"), "initialising");
  EXPECT_EQ(ls_entry(list, "creating")->at("kind"), "initialising");
  for (const auto& [name, stale] : std::vector<std::pair<std::string, bool>>{{"dead", true},
                                                                             {"stuck", true},
                                                                             {"mixed", false},
                                                                             {"live", false},
                                                                             {"idle", false},
                                                                             {"creating", false},
                                                                             {"junk", false}}) {
    EXPECT_EQ(ls_entry(list, name)->at("stale"), stale) << name;
  }
  EXPECT_EQ(shmkit_json({"stat", "dead", "--json"}).at("stale"), true);

  const test::CommandResult r = shmkit({"rm", "--stale"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "removed dead\nremoved stuck\n");
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(fs::exists(path_of("dead")));
  EXPECT_FALSE(fs::exists(path_of("stuck")));
  for (const char* kept : {"mixed", "live", "idle", "creating", "junk"}) {
    EXPECT_TRUE(fs::exists(path_of(kept))) << kept;
  }
  const test::CommandResult again = shmkit({"rm", "--stale"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "");
}

// A creator killed between making its file and recording itself in it (a
// few microseconds) leaves a file that names nobody: empty, or reserved and
// all zero. Left so for over a minute it is abandoned, and rm --stale removes
// it; a younger one may be a creator at work, and stays.
TEST_F(CliRm, StaleRemovesAFileLeftEmptyOrUnwrittenForOverAMinute) {
  write_file(path_of("empty-old"), "");
  write_file(path_of("zero-old"), std::string(4096, '\0'));
  write_file(path_of("empty-new"), "");
  write_file(path_of("junk-old"), "hello, not shared memory");
  const auto two_minutes_ago = fs::file_time_type::clock::now() - std::chrono::minutes(2);
  for (const char* old : {"empty-old", "zero-old", "junk-old"}) {
    fs::last_write_time(path_of(old), two_minutes_ago);
  }
  const json list = shmkit_json({"ls", "--json"});
  for (const auto& [name, stale] : std::vector<std::pair<std::string, bool>>{
           {"empty-old", true}, {"zero-old", true}, {"empty-new", false}, {"junk-old", false}}) {
    EXPECT_EQ(ls_entry(list, name)->at("stale"), stale) << name;
  }
  const test::CommandResult stat = shmkit({"stat", "empty-old"});
  EXPECT_EQ(stat.exit_code, 1);
  EXPECT_NE(stat.err.find("abandoned; 'shmkit rm --stale' removes it"), std::string::npos)
      << stat.err;

  const test::CommandResult r = shmkit({"rm", "--stale"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "removed empty-old\nremoved zero-old\n");
  EXPECT_TRUE(fs::exists(path_of("empty-new")));
  EXPECT_TRUE(fs::exists(path_of("junk-old")));
}

// An object name that is a symbolic link is never followed, and every
// command says what it is (not the system's "too many levels of links").
TEST_F(CliForeignFile, ASymbolicLinkIsNamedAsOneAndNotFollowed) {
  write_file(dir_.path() + "/target", "not an object");
  fs::create_symlink(dir_.path() + "/target", path_of("L"));
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"stat", "L"}, {"get", "L", "--timeout", "0"}, {"rm", "L"}}) {
    const test::CommandResult r = shmkit(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(lines(r.err), 1) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("'L'"), std::string::npos) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("is a symbolic link"), std::string::npos) << args[0] << ": " << r.err;
  }
  EXPECT_TRUE(fs::is_symlink(path_of("L")));
  EXPECT_EQ(fs::file_size(dir_.path() + "/target"), std::string("not an object").size());
}

TEST_F(CliForeignFile, StatFailsCleanlyRmRefusesLsListsItAsInvalid) {
  const std::string garbage = "hello, I am not a shmkit object at all";
  write_file(path_of("X"), garbage);

  const test::CommandResult stat = shmkit({"stat", "X"});
  EXPECT_EQ(stat.exit_code, 1);
  EXPECT_EQ(stat.out, "");
  EXPECT_EQ(lines(stat.err), 1) << stat.err;
  EXPECT_EQ(stat.err.rfind("shmkit: ", 0), 0u) << stat.err;
  EXPECT_NE(stat.err.find("'X'"), std::string::npos) << stat.err;
  EXPECT_NE(stat.err.find("not a shmkit object"), std::string::npos) << stat.err;

  const test::CommandResult rm = shmkit({"rm", "X"});
  EXPECT_EQ(rm.exit_code, 1);
  EXPECT_EQ(lines(rm.err), 1) << rm.err;
  EXPECT_NE(rm.err.find("not a shmkit object"), std::string::npos) << rm.err;
  ASSERT_TRUE(fs::exists(path_of("X")));
  EXPECT_EQ(fs::file_size(path_of("X")), garbage.size());

  ASSERT_EQ(shmkit({"create", "good", "--size", "100"}).exit_code, 0);
  const test::CommandResult ls = shmkit({"ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  const std::vector<std::string> row = ls_row(ls.out, "X");
  ASSERT_GE(row.size(), 2u) << ls.out;
  EXPECT_EQ(row[1], "invalid");
  EXPECT_NE(ls.out.find("not a shmkit object"), std::string::npos) << ls.out;
  EXPECT_EQ(ls_row(ls.out, "good").at(1), "bytes");

  const json list = shmkit_json({"ls", "--json"});
  ASSERT_EQ(list.size(), 2u);
  const json x = ls_entry(list, "X").value();
  EXPECT_EQ(x.at("kind"), "invalid");
  EXPECT_EQ(x.at("error"), "corrupt");
  EXPECT_NE(x.at("problem").get<std::string>().find("not a shmkit object"), std::string::npos);
  EXPECT_EQ(x.at("file_size"), garbage.size());
}

TEST_F(CliForeignFile, TruncatedObjectIsReportedNotMapped) {
  ASSERT_EQ(shmkit({"create", "cut", "--size", "64K"}).exit_code, 0);
  fs::resize_file(path_of("cut"), 1000);
  const test::CommandResult stat = shmkit({"stat", "cut"});
  EXPECT_EQ(stat.exit_code, 1);
  EXPECT_EQ(lines(stat.err), 1) << stat.err;
  EXPECT_NE(stat.err.find("'cut'"), std::string::npos) << stat.err;
  const json list = shmkit_json({"ls", "--json"});
  EXPECT_EQ(ls_entry(list, "cut")->at("kind"), "invalid");
  EXPECT_EQ(shmkit({"rm", "cut"}).exit_code, 0);  // still recognisably ours
}

TEST_F(CliUsage, MalformedCommandLinesExitTwo) {
  const std::vector<std::vector<std::string>> cases{
      {"create", "x", "--size", "12X"},
      {"create", "x", "--size", "0"},
      {"create", "x", "--size", "-5"},
      {"create", "x", "--size", "K"},
      {"create", "x", "--size", "99999999999999999999"},
      {"create", "x", "--size", "65T"},  // more than one object may have
      {"create", "x", "--size", "100", "--mode", "999"},
      {"create", "x", "--size", "100", "--mode", "1777"},
      {"create", "x", "--size", "100", "--mode", "rw"},
      {"create", "x"},
      {"create", "--size", "100"},
      {"stat"},
      {"rm"},
      {"rm", "--stale", "x"},
      {"ls", "--bogus"},
      {"ls", "extra"},
      {"frobnicate"},
      {"--bogus"},
  };
  for (const auto& args : cases) {
    const test::CommandResult r = shmkit(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << r.err;
    EXPECT_EQ(r.err.rfind("shmkit: ", 0), 0u) << joined << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << joined << r.err;
    EXPECT_EQ(r.out, "") << joined;
  }
  EXPECT_TRUE(fs::is_empty(dir_.path()));
}

// A usage error's line names the mistake in the words of the command line, and
// its hint names the help of the command the mistake was made in. The fixture
// puts "--dir DIR" first.
TEST_F(CliUsage, UsageErrorsNameTheMistakeAndTheRightHelp) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const std::vector<Case> cases{
      // An unknown option comes before a missing required argument.
      {{"stat", "-x"}, "shmkit: unknown option '-x'\nRun 'shmkit stat --help' for usage.\n"},
      {{"create", "--size", "1", "--bogus=3"},
       "shmkit: unknown option '--bogus'\nRun 'shmkit create --help' for usage.\n"},
      {{"queue"},
       "shmkit: a queue command is required (queue commands: create)\n"
       "Run 'shmkit queue --help' for usage.\n"},
      {{"queue", "bogus"},
       "shmkit: 'bogus' is not a queue command (queue commands: create)\n"
       "Run 'shmkit queue --help' for usage.\n"},
      {{"bogus"},
       "shmkit: unknown command 'bogus' (commands: create, ls, stat, rm, demo, lock, queue, put, "
       "get)\nRun 'shmkit --help' for usage.\n"},
      // A global option is global whatever command follows; one after the
      // command is that command's.
      {{"--bogus", "ls"}, "shmkit: unknown option '--bogus'\nRun 'shmkit --help' for usage.\n"},
      {{"ls", "--bogus"}, "shmkit: unknown option '--bogus'\nRun 'shmkit ls --help' for usage.\n"},
      {{"queue", "create", "q", "--bogus"},
       "shmkit: unknown option '--bogus'\nRun 'shmkit queue create --help' for usage.\n"},
      {{"stat", "a", "b"},
       "shmkit: unexpected argument 'b'\nRun 'shmkit stat --help' for usage.\n"},
      {{"create", "x", "--size", "1", "--size", "2"},
       "shmkit: --size given 2 times; give it once\nRun 'shmkit create --help' for usage.\n"},
      {{"queue", "create", "q", "--capacity", "2", "--max-msg", "8", "--capacity", "4"},
       "shmkit: --capacity given 2 times; give it once\n"
       "Run 'shmkit queue create --help' for usage.\n"},
      {{"ls", "--dir", "/nonexistent"},
       "shmkit: --dir given 2 times; give it once\nRun 'shmkit --help' for usage.\n"},
  };
  for (const Case& c : cases) {
    const test::CommandResult r = shmkit(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined;
    EXPECT_EQ(r.err, c.err) << joined;
    EXPECT_EQ(r.out, "") << joined;
  }
  EXPECT_TRUE(fs::is_empty(dir_.path()));
}

TEST_F(CliUsage, NoCommandPrintsHelpAndExitsTwo) {
  const test::CommandResult r = test::run_command({kCli});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Usage"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("create"), std::string::npos) << r.err;
}

TEST_F(CliUsage, HelpTellsTheContract) {
  const test::CommandResult main_help = test::run_command({kCli, "--help"});
  EXPECT_EQ(main_help.exit_code, 0);
  for (const char* text :
       {"create", "ls", "stat", "rm", "demo", "lock", "queue", "put", "get", "--dir", "SHMKIT_DIR",
        "/dev/shm", "Exit codes", "2 usage error", "invalid one is a runtime error"}) {
    EXPECT_NE(main_help.out.find(text), std::string::npos) << text;
  }
  const test::CommandResult create = test::run_command({kCli, "create", "--help"});
  EXPECT_EQ(create.exit_code, 0);
  for (const char* text : {"--size", "64K", "1024", "--mode", "0600"}) {
    EXPECT_NE(create.out.find(text), std::string::npos) << text;
  }
  const test::CommandResult rm = test::run_command({kCli, "rm", "--help"});
  EXPECT_EQ(rm.exit_code, 0);
  for (const char* text : {"--stale", "all of its attached processes", "not a shmkit object"}) {
    EXPECT_NE(rm.out.find(text), std::string::npos) << text;
  }
  for (const char* command : {"ls", "stat"}) {
    const test::CommandResult r = test::run_command({kCli, command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << command;
  }
  const test::CommandResult ls = test::run_command({kCli, "ls", "--help"});
  for (const char* text : {"--all", "list-chunk", "NAME.d<k>"}) {
    EXPECT_NE(ls.out.find(text), std::string::npos) << text;
  }
  EXPECT_NE(rm.out.find("chunk"), std::string::npos) << rm.out;
}

TEST_F(CliUsage, VersionPrintsTheProjectVersion) {
  const test::CommandResult r = test::run_command({kCli, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("shmkit ") + SHMKIT_VERSION + "\n");
}

// The default directory, /dev/shm, with a name no other test uses.
TEST(CliDefaultDirectory, CreateStatRmInDevShm) {
  ::unsetenv("SHMKIT_DIR");
  const test::ScopedName name("cli");  // removes the object even if the test fails
  const std::string path = std::string("/dev/shm/") + Segment::file_name(name.str());

  const test::CommandResult created =
      test::run_command({kCli, "create", name.str(), "--size", "4K"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(file_mode(path), 0600u);

  const test::CommandResult ls = test::run_command({kCli, "ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  const auto entry = ls_entry(json::parse(ls.out), name.str());
  ASSERT_TRUE(entry.has_value()) << ls.out;
  EXPECT_EQ(entry->at("path"), path);
  EXPECT_EQ(entry->at("size"), 4096);

  const test::CommandResult stat = test::run_command({kCli, "stat", name.str(), "--json"});
  ASSERT_EQ(stat.exit_code, 0) << stat.err;
  EXPECT_EQ(json::parse(stat.out).at("mode"), "0600");

  const test::CommandResult rm = test::run_command({kCli, "rm", name.str()});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(test::leftovers().empty());
}

}  // namespace
}  // namespace shmkit
