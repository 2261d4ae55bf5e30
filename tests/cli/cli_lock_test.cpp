#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "shmkit/sync/mutex.hpp"
#include "test_support.hpp"

// End-to-end tests of `shmkit lock NAME [--timeout S] -- COMMAND...` (issue 3):
// exit status passed through, mutual exclusion between concurrent runs, the
// timeout, and the takeover from a holder killed with SIGKILL.

namespace shmkit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::kCli;

class CliLock : public ::testing::Test {
 protected:
  [[nodiscard]] std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> all{kCli, "--dir", dir_.path()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  test::CommandResult shmkit(const std::vector<std::string>& args) {
    return test::run_command(argv(args));
  }
  [[nodiscard]] SegmentOptions options() const {
    SegmentOptions o;
    o.directory = dir_.path();
    return o;
  }
  // The mutex's state as `shmkit stat --json` shows it.
  json mutex_state(const std::string& name) {
    const test::CommandResult r = shmkit({"stat", name, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out).at("kind_state");
  }

  test::TempDir dir_;
};

TEST_F(CliLock, PassesTheCommandsExitStatusThrough) {
  const test::CommandResult ok = shmkit({"lock", "L", "--", "true"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.err, "");
  EXPECT_EQ(shmkit({"lock", "L", "--", "sh", "-c", "exit 3"}).exit_code, 3);
  EXPECT_EQ(shmkit({"lock", "L", "--", "sh", "-c", "kill -TERM $$"}).exit_code, 128 + SIGTERM);
  const test::CommandResult echo = shmkit({"lock", "L", "--", "echo", "hello", "--dir", "x"});
  EXPECT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "hello --dir x\n");  // options after -- are the command's
  // The mutex was created (0600) and is left unlocked.
  const json state = mutex_state("L");
  EXPECT_EQ(state.at("locked"), false);
  EXPECT_EQ(state.at("owner"), nullptr);
  EXPECT_EQ(json::parse(shmkit({"stat", "L", "--json"}).out).at("mode"), "0600");
}

TEST_F(CliLock, ModeAppliesToANewMutex) {
  ASSERT_EQ(shmkit({"lock", "M", "--mode", "640", "--", "true"}).exit_code, 0);
  EXPECT_EQ(json::parse(shmkit({"stat", "M", "--json"}).out).at("mode"), "0640");
}

TEST_F(CliLock, CommandThatCannotRunExits127) {
  const test::CommandResult r = shmkit({"lock", "L", "--", "/nonexistent/command", "arg"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("cannot run '/nonexistent/command'"), std::string::npos) << r.err;
  EXPECT_EQ(mutex_state("L").at("locked"), false);
}

TEST_F(CliLock, ConcurrentRunsAreSerialised) {
  const std::string log = dir_.path() + "/log";
  // The first run holds the lock until the test writes a line to its stdin.
  test::Spawned first(argv({"lock", "L", "--", "sh", "-c",
                            "echo start >> " + log + "; read x; echo end >> " + log}),
                      /*with_stdin=*/true);
  ASSERT_TRUE(test::eventually([&] { return test::read_file(log) == "start\n"; }));
  test::Spawned second(
      argv({"lock", "L", "--", "sh", "-c", "echo start >> " + log + "; echo end >> " + log}));
  // The second waits for the lock (recorded as a waiter), and has not run.
  const Mutex mutex = Mutex::open("L", options());
  ASSERT_TRUE(test::eventually([&] { return mutex.state().waiting() >= 1; }));
  EXPECT_EQ(test::read_file(log), "start\n");
  first.write_stdin("go\n");
  const test::CommandResult a = first.finish();
  const test::CommandResult b = second.finish();
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(test::read_file(log), "start\nend\nstart\nend\n");
}

TEST_F(CliLock, ManyConcurrentRunsNeverInterleave) {
  const std::string log = dir_.path() + "/log";
  const std::string body = "echo start >> " + log + "; echo end >> " + log;
  constexpr int kRuns = 8;
  std::vector<std::unique_ptr<test::Spawned>> runs;
  for (int i = 0; i < kRuns; ++i) {
    runs.push_back(std::make_unique<test::Spawned>(argv({"lock", "L", "--", "sh", "-c", body})));
  }
  for (auto& run : runs) {
    const test::CommandResult r = run->finish();
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  std::string expected;
  for (int i = 0; i < kRuns; ++i) expected += "start\nend\n";
  EXPECT_EQ(test::read_file(log), expected);
}

TEST_F(CliLock, TimeoutWhileALiveProcessHoldsItExitsOne) {
  test::Pipe locked;
  test::Pipe release;
  const SegmentOptions opts = options();
  const pid_t holder = test::fork_child([&] {
    Mutex mutex = Mutex::open_or_create("L", opts);
    if (!holds(mutex.lock())) throw std::runtime_error("lock failed");
    locked.send();
    if (!release.receive()) throw std::runtime_error("never released");
    mutex.unlock();
  });
  ASSERT_TRUE(locked.receive());
  const test::CommandResult r = shmkit({"lock", "L", "--timeout", "0.2", "--", "echo", "ran"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");  // the command did not run
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("lock 'L': not acquired within 0.2 s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pid " + std::to_string(holder)), std::string::npos) << r.err;
  // --timeout 0 tries once.
  EXPECT_EQ(shmkit({"lock", "L", "--timeout", "0", "--", "true"}).exit_code, 1);
  release.send();
  EXPECT_EQ(test::wait_exit_code(holder), 0);
  EXPECT_EQ(shmkit({"lock", "L", "--timeout", "5", "--", "true"}).exit_code, 0);
}

TEST_F(CliLock, TakesOverFromAHolderKilledWithSigkill) {
  test::Pipe locked;
  const SegmentOptions opts = options();
  const pid_t holder = test::fork_child([&] {
    Mutex mutex = Mutex::open_or_create("L", opts);
    if (!holds(mutex.lock())) throw std::runtime_error("lock failed");
    locked.send();
    for (;;) ::pause();
  });
  ASSERT_TRUE(locked.receive());
  ASSERT_EQ(::kill(holder, SIGKILL), 0);
  ASSERT_EQ(test::wait_exit_code(holder), 128 + SIGKILL);
  EXPECT_EQ(mutex_state("L").at("owner").at("alive"), false);
  const test::CommandResult r = shmkit({"lock", "L", "--", "echo", "ran"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  EXPECT_EQ(r.err, "shmkit: lock 'L': took over from dead owner pid " + std::to_string(holder) +
                       " (it died holding the lock)\n");
  EXPECT_EQ(mutex_state("L").at("locked"), false);
  // An ordinary lock afterwards: no takeover line.
  const test::CommandResult again = shmkit({"lock", "L", "--", "true"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.err, "");
}

TEST_F(CliLock, TakesOverFromAShmkitLockKilledWithSigkill) {
  // The command prints its pid, then becomes `sleep` (exec): the test kills
  // both the shmkit process (the holder) and the sleep.
  test::Spawned holder(argv({"lock", "L", "--", "sh", "-c", "echo $$; exec sleep 100"}));
  ASSERT_TRUE(holder.wait_for_output("\n"));
  const pid_t command = std::stoi(holder.output());
  ASSERT_EQ(::kill(holder.pid(), SIGKILL), 0);
  ASSERT_EQ(::kill(command, SIGKILL), 0);
  const pid_t holder_pid = holder.pid();
  EXPECT_EQ(holder.finish().exit_code, 128 + SIGKILL);
  const test::CommandResult r = shmkit({"lock", "L", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("took over from dead owner pid " + std::to_string(holder_pid)),
            std::string::npos)
      << r.err;
}

TEST_F(CliLock, WrongKindIsRuntimeError) {
  ASSERT_EQ(shmkit({"create", "B", "--size", "100"}).exit_code, 0);
  const test::CommandResult r = shmkit({"lock", "B", "--", "echo", "ran"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("wrong kind"), std::string::npos) << r.err;
}

TEST_F(CliLock, MalformedCommandLinesExitTwo) {
  const std::vector<std::vector<std::string>> cases{
      {"lock", "L"},
      {"lock", "L", "--"},
      {"lock"},
      {"lock", "L", "--timeout", "-1", "--", "true"},
      {"lock", "L", "--timeout", "soon", "--", "true"},
      {"lock", "L", "--mode", "999", "--", "true"},
      {"lock", "L", "--bogus", "--", "true"},
  };
  for (const auto& args : cases) {
    const test::CommandResult r = shmkit(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << r.err;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_NE(r.err.find("shmkit lock --help"), std::string::npos) << joined << r.err;
  }
  EXPECT_TRUE(fs::is_empty(dir_.path()));  // nothing was created
}

TEST_F(CliLock, HelpTellsTheContract) {
  const test::CommandResult r = test::run_command({kCli, "lock", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text : {"--timeout", "SECONDS", "-- COMMAND", "128+N", "127",
                           "took over from dead owner", "created if absent"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << " in\n" << r.out;
  }
}

}  // namespace
}  // namespace shmkit
