#include <signal.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli_support.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/segment.hpp"
#include "test_support.hpp"

// End-to-end tests of `shmkit demo` (issue 4): the writer/reader scenario run
// as real processes, its exact output, and its cleanup whatever happens. All
// but one run in a private directory.

namespace shmkit {
namespace {

namespace fs = std::filesystem;
using test::kCli;

class CliDemo : public ::testing::Test {
 protected:
  test::CommandResult shmkit(const std::vector<std::string>& args) {
    std::vector<std::string> argv{kCli, "--dir", dir_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv);
  }
  [[nodiscard]] std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> all{kCli, "--dir", dir_.path()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  [[nodiscard]] bool dir_empty() const { return fs::is_empty(dir_.path()); }

  test::TempDir dir_;
};

// The one test in the default directory (/dev/shm), with a unique name.
TEST(CliDemoDefaultDirectory, FiveItemsPrintTheClassicLinesInOrder) {
  ::unsetenv("SHMKIT_DIR");
  const std::string name = test::unique_name("demo");
  const test::CommandResult r =
      test::run_command({kCli, "demo", "--count", "5", "--interval", "0.05", "--name", name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "Writer added: 0\nReader read: 0\n"
            "Writer added: 1\nReader read: 1\n"
            "Writer added: 2\nReader read: 2\n"
            "Writer added: 3\nReader read: 3\n"
            "Writer added: 4\nReader read: 4\n");
  EXPECT_FALSE(fs::exists("/dev/shm/" + Segment::file_name(name)));
  EXPECT_TRUE(test::leftovers().empty());
}

TEST_F(CliDemo, TenThousandItemsAreEachWrittenAndReadOnceInOrder) {
  constexpr int kCount = 10000;
  const test::CommandResult r =
      shmkit({"demo", "--count", std::to_string(kCount), "--interval", "0", "--name", "many"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::vector<std::string> lines = test::split_lines(r.out);
  ASSERT_EQ(lines.size(), 2u * kCount);
  // Where each "Writer added: i" and "Reader read: i" line is; -1 if absent.
  std::vector<long> written(kCount, -1);
  std::vector<long> read(kCount, -1);
  int next_written = 0;
  int next_read = 0;
  for (std::size_t at = 0; at < lines.size(); ++at) {
    const std::string& line = lines[at];
    if (line.rfind("Writer added: ", 0) == 0) {
      ASSERT_EQ(line, "Writer added: " + std::to_string(next_written)) << "line " << at;
      written[static_cast<std::size_t>(next_written++)] = static_cast<long>(at);
    } else {
      ASSERT_EQ(line, "Reader read: " + std::to_string(next_read)) << "line " << at;
      read[static_cast<std::size_t>(next_read++)] = static_cast<long>(at);
    }
  }
  ASSERT_EQ(next_written, kCount);
  ASSERT_EQ(next_read, kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    ASSERT_LT(written[i], read[i]) << "item " << i << " read before it was written";
  }
  EXPECT_TRUE(dir_empty());  // the list and its chunk objects are gone
}

TEST_F(CliDemo, CountZeroPrintsNothing) {
  const test::CommandResult r = shmkit({"demo", "--count", "0", "--interval", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(dir_empty());
}

TEST_F(CliDemo, SigintKillsTheChildrenAndRemovesTheList) {
  // A long interval: the writer is asleep after item 0 when the signal comes.
  test::Spawned demo(argv({"demo", "--count", "5", "--interval", "60", "--name", "stopped"}));
  ASSERT_TRUE(demo.wait_for_output("Writer added: 0\n")) << demo.output();
  EXPECT_TRUE(fs::exists(dir_.path() + "/" + Segment::file_name("stopped")));
  ASSERT_EQ(::kill(demo.pid(), SIGINT), 0);
  const test::CommandResult r = demo.finish();
  EXPECT_EQ(r.exit_code, 128 + SIGINT) << r.err;
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'stopped'"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Writer added: 1"), std::string::npos) << r.out;
  EXPECT_TRUE(dir_empty());
}

TEST_F(CliDemo, SigtermIsHandledLikeSigint) {
  test::Spawned demo(argv({"demo", "--interval", "60"}));
  ASSERT_TRUE(demo.wait_for_output("Writer added: 0\n")) << demo.output();
  ASSERT_EQ(::kill(demo.pid(), SIGTERM), 0);
  const test::CommandResult r = demo.finish();
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  EXPECT_TRUE(dir_empty());
}

TEST_F(CliDemo, ExistingNameIsRefusedAndLeftAlone) {
  ASSERT_EQ(shmkit({"create", "taken", "--size", "100"}).exit_code, 0);
  const test::CommandResult r = shmkit({"demo", "--name", "taken", "--interval", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("shmkit: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("'taken' already exists"), std::string::npos) << r.err;
  // Still the bytes object it was.
  const test::CommandResult stat = shmkit({"stat", "taken"});
  EXPECT_EQ(stat.exit_code, 0) << stat.err;
  EXPECT_NE(stat.out.find("bytes"), std::string::npos) << stat.out;
}

TEST_F(CliDemo, InvalidNameIsRuntimeError) {
  const test::CommandResult r = shmkit({"demo", "--name", "bad name"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("invalid name"), std::string::npos) << r.err;
  EXPECT_TRUE(dir_empty());
}

TEST_F(CliDemo, AFailedChildFailsTheDemoAndTheListIsRemoved) {
  // A directory too small for the list's first chunk: the writer's append of
  // item 1024 fails with out_of_space, and the reader is stopped.
  test::TmpfsMount small(48 * 1024);
  if (!small.ok()) GTEST_SKIP() << small.reason();
  const test::CommandResult r = test::run_command(
      {kCli, "--dir", small.path(), "demo", "--count", "3000", "--interval", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("shmkit: demo writer (pid ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("out of space"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(small.path()));
}

TEST_F(CliDemo, AChildKilledBySignalFailsTheDemoWithOneLine) {
  test::Spawned demo(argv({"demo", "--interval", "60", "--name", "victim"}));
  ASSERT_TRUE(demo.wait_for_output("Writer added: 0\n")) << demo.output();
  // The writer and the reader are the demo's only children (the writer may
  // print before the reader is forked).
  const std::string pid = std::to_string(demo.pid());
  std::vector<pid_t> pids;
  ASSERT_TRUE(test::eventually([&] {
    std::istringstream children(test::read_file("/proc/" + pid + "/task/" + pid + "/children"));
    pids.clear();
    for (pid_t child = 0; children >> child;) pids.push_back(child);
    return pids.size() == 2;
  }));
  // One of them: the demo then kills and reaps the other itself (a second
  // kill of ours could find it gone already).
  ASSERT_EQ(::kill(pids.front(), SIGKILL), 0);
  const test::CommandResult r = demo.finish();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("shmkit: demo ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("killed by signal 9"), std::string::npos) << r.err;
  EXPECT_TRUE(dir_empty());
}

TEST_F(CliDemo, ChildrenDieWithADemoKilledOutright) {
  test::Spawned demo(argv({"demo", "--interval", "60", "--name", "orphaned"}));
  ASSERT_TRUE(demo.wait_for_output("Writer added: 0\n")) << demo.output();
  const std::string pid = std::to_string(demo.pid());
  std::vector<pid_t> pids;
  ASSERT_TRUE(test::eventually([&] {
    std::istringstream children(test::read_file("/proc/" + pid + "/task/" + pid + "/children"));
    pids.clear();
    for (pid_t child = 0; children >> child;) pids.push_back(child);
    return pids.size() == 2;
  }));
  ASSERT_EQ(::kill(demo.pid(), SIGKILL), 0);  // only the demo itself
  EXPECT_EQ(demo.finish().exit_code, 128 + SIGKILL);
  for (const pid_t child : pids) {
    EXPECT_TRUE(test::eventually([&] { return !ProcessIdentity::of(child).has_value(); }))
        << "child " << child << " outlived the demo";
  }
  // Nothing could remove the list: the directory is the test's own.
}

TEST_F(CliDemo, MalformedOptionsExitTwo) {
  const std::vector<std::vector<std::string>> cases{
      {"demo", "--count", "-1"},     {"demo", "--count", "x"},
      {"demo", "--count", "1.5"},    {"demo", "--interval", "-0.5"},
      {"demo", "--interval", "abc"}, {"demo", "--interval", "inf"},
      {"demo", "--interval"},        {"demo", "--name"},
      {"demo", "--bogus"},           {"demo", "extra"},
  };
  for (const auto& args : cases) {
    const test::CommandResult r = shmkit(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << r.err;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_EQ(r.err.rfind("shmkit: ", 0), 0u) << joined << r.err;
    EXPECT_NE(r.err.find("shmkit demo --help"), std::string::npos) << joined << r.err;
  }
  EXPECT_TRUE(dir_empty());
}

TEST_F(CliDemo, HelpTellsTheOptionsAndExitStatus) {
  const test::CommandResult r = test::run_command({kCli, "demo", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text : {"--count", "default 5", "--interval", "default 1", "0 allowed", "--name",
                           "Writer added: i", "Reader read: i", "128+N"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << " in\n" << r.out;
  }
}

}  // namespace
}  // namespace shmkit
