#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "shmkit/queue.hpp"
#include "test_support.hpp"

// End-to-end tests of the queue commands (issue 5): `shmkit queue create`,
// `shmkit put` and `shmkit get`, alone and in shell pipelines.

namespace shmkit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::kCli;

class CliQueue : public ::testing::Test {
 protected:
  [[nodiscard]] std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> all{kCli, "--dir", dir_.path()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  test::CommandResult shmkit(const std::vector<std::string>& args) {
    return test::run_command(argv(args));
  }
  // A file of `text` in the test's directory, for put --file.
  std::string file_of(const std::string& text) {
    const std::string path = dir_.path() + "/input" + std::to_string(files_++);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  void create(const std::string& name, const std::string& capacity, const std::string& max) {
    const test::CommandResult r =
        shmkit({"queue", "create", name, "--capacity", capacity, "--max-msg", max});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  json queue_state(const std::string& name) {
    const test::CommandResult r = shmkit({"stat", name, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out).at("kind_state");
  }

  test::TempDir dir_;
  int files_ = 0;
};

TEST_F(CliQueue, SeqPipedThroughPutComesOutOfGetExactly) {
  create("q", "1024", "64");
  // The consumer first, in its own process; then the producer pipeline.
  test::Spawned get(argv({"get", "q"}));
  const std::string put =
      "seq 1 100000 | '" + std::string(kCli) + "' --dir '" + dir_.path() + "' put q --close";
  const test::CommandResult produced = test::run_command({"/bin/sh", "-c", put});
  EXPECT_EQ(produced.exit_code, 0) << produced.err;
  EXPECT_EQ(produced.err, "");
  const test::CommandResult got = get.finish();
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.err, "");
  std::string expected;
  for (int i = 1; i <= 100000; ++i) expected += std::to_string(i) + "\n";
  EXPECT_TRUE(got.out == expected)
      << "got " << got.out.size() << " bytes, " << test::split_lines(got.out).size() << " lines";
  const json state = queue_state("q");
  EXPECT_EQ(state.at("depth"), 0);
  EXPECT_EQ(state.at("closed"), true);
}

TEST_F(CliQueue, EachLineIsOneMessageWithoutItsNewline) {
  create("q", "16", "100");
  const test::CommandResult put =
      shmkit({"put", "q", "--file", file_of("one\n\nthree has spaces\nlast without newline")});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(queue_state("q").at("depth"), 4);
  const test::CommandResult got = shmkit({"get", "q", "--timeout", "0"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "one\n\nthree has spaces\nlast without newline\n");
}

TEST_F(CliQueue, PutReadsStdin) {
  create("q", "16", "100");
  test::Spawned put(argv({"put", "q", "--close"}), /*with_stdin=*/true);
  put.write_stdin("alpha\nbeta\n");
  put.close_stdin();
  const test::CommandResult r = put.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(shmkit({"get", "q"}).out, "alpha\nbeta\n");
}

TEST_F(CliQueue, GetStopsAfterCount) {
  create("q", "16", "16");
  ASSERT_EQ(shmkit({"put", "q", "--file", file_of("a\nb\nc\nd\ne\n")}).exit_code, 0);
  const test::CommandResult first = shmkit({"get", "q", "--count", "3"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "a\nb\nc\n");
  EXPECT_EQ(queue_state("q").at("depth"), 2);
  const test::CommandResult rest = shmkit({"get", "q", "--count", "10", "--timeout", "0"});
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(rest.out, "d\ne\n");
  EXPECT_EQ(shmkit({"get", "q", "--count", "0"}).out, "");
}

TEST_F(CliQueue, GetWithATimeoutOnAnEmptyQueueExitsZero) {
  create("q", "4", "8");
  const test::CommandResult r = shmkit({"get", "q", "--timeout", "0.2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliQueue, GetWaitsForMessagesThatComeLater) {
  create("q", "4", "8");
  test::Spawned get(argv({"get", "q", "--count", "2"}));
  // Once get is registered as a consumer, it is waiting.
  ASSERT_TRUE(test::eventually([&] { return queue_state("q").at("consumers").size() == 1; }));
  ASSERT_EQ(shmkit({"put", "q", "--file", file_of("late\n")}).exit_code, 0);
  ASSERT_TRUE(get.wait_for_output("late\n")) << get.output();  // flushed before it waits again
  ASSERT_EQ(shmkit({"put", "q", "--file", file_of("later\n")}).exit_code, 0);
  const test::CommandResult r = get.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "late\nlater\n");
}

TEST_F(CliQueue, GetOnAClosedEmptyQueueReturnsAtOnce) {
  create("q", "4", "8");
  ASSERT_EQ(shmkit({"put", "q", "--close", "--file", file_of("")}).exit_code, 0);
  EXPECT_EQ(queue_state("q").at("closed"), true);
  // No --timeout: only the close can end it.
  test::Spawned get(argv({"get", "q"}));
  const test::CommandResult r = get.finish(30'000);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliQueue, ClosedQueueIsDrainedFirst) {
  create("q", "8", "8");
  ASSERT_EQ(shmkit({"put", "q", "--close", "--file", file_of("x\ny\n")}).exit_code, 0);
  const test::CommandResult r = shmkit({"get", "q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "x\ny\n");
}

TEST_F(CliQueue, PutToAClosedQueueExitsOne) {
  create("q", "4", "8");
  ASSERT_EQ(shmkit({"put", "q", "--close", "--file", file_of("")}).exit_code, 0);
  const test::CommandResult r = shmkit({"put", "q", "--file", file_of("more\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("shmkit: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("'q'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("closed"), std::string::npos) << r.err;
}

TEST_F(CliQueue, LineLongerThanMaxMessageIsNamedByNumber) {
  create("q", "8", "4");
  const test::CommandResult r =
      shmkit({"put", "q", "--close", "--file", file_of("ok\nfour\nfive!\nnot put\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("5 bytes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("message too large"), std::string::npos) << r.err;
  // The lines before it went in, and --close closed the queue all the same.
  EXPECT_EQ(shmkit({"get", "q"}).out, "ok\nfour\n");
}

TEST_F(CliQueue, PutCloseClosesTheQueueWhenItsFileCannotBeOpened) {
  create("q", "4", "8");
  const test::CommandResult r =
      shmkit({"put", "q", "--close", "--file", dir_.path() + "/no-such-input"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("no-such-input"), std::string::npos) << r.err;
  EXPECT_EQ(queue_state("q").at("closed"), true);  // a waiting get is not left hanging
  EXPECT_EQ(shmkit({"get", "q"}).exit_code, 0);
}

TEST_F(CliQueue, AnEmptyFileOptionIsAUsageErrorNotStdin) {
  create("q", "4", "8");
  const test::CommandResult r = shmkit({"put", "q", "--file", ""});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--file"), std::string::npos) << r.err;
  EXPECT_EQ(queue_state("q").at("depth"), 0);
}

// Messages are taken before they are written: when stdout fails, get stops,
// exits 1 and says how many it took and could not write.
TEST_F(CliQueue, GetSaysHowManyMessagesAFailedStdoutLost) {
  create("q", "64", "8");
  ASSERT_EQ(shmkit({"put", "q", "--file", file_of("1\n2\n3\n")}).exit_code, 0);
  const std::string get =
      "'" + std::string(kCli) + "' --dir '" + dir_.path() + "' get q --timeout 0 > /dev/full";
  const test::CommandResult r = test::run_command({"/bin/sh", "-c", get});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("up to 3 messages taken from queue 'q' were not written"), std::string::npos)
      << r.err;
}

// 'shmkit get Q | head -1': once head has gone, get's next write fails with
// EPIPE (SIGPIPE would kill it silently, leaving a dead process attached to
// the queue). get stops, exits 1, and says how many of the messages it took
// it could not write: one batch at most (64 KiB of output), not the whole
// queue. The rest stay in the queue.
TEST_F(CliQueue, GetIntoAPipeWhoseReaderHasGoneLosesOneBatchAndSaysSo) {
  create("q", "8192", "16");
  std::string lines;
  for (int i = 1; i <= 5000; ++i) lines += std::to_string(i) + "\n";
  ASSERT_EQ(shmkit({"put", "q", "--file", file_of(lines)}).exit_code, 0);
  const test::CommandResult r = test::run_into_closed_pipe(argv({"get", "q", "--timeout", "0"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string prefix = "shmkit: get: writing to stdout failed; up to ";
  const std::string suffix = " messages taken from queue 'q' were not written: Broken pipe\n";
  ASSERT_EQ(r.err.rfind(prefix, 0), 0u) << r.err;
  ASSERT_GT(r.err.size(), prefix.size() + suffix.size()) << r.err;
  ASSERT_EQ(r.err.substr(r.err.size() - suffix.size()), suffix) << r.err;
  const int lost = std::stoi(r.err.substr(prefix.size()));
  EXPECT_GE(lost, 1);
  EXPECT_LE(lost, (64 << 10) / 17);  // a batch: 64 KiB of lines of up to 16 bytes and \n
  const json stat = json::parse(shmkit({"stat", "q", "--json"}).out);
  EXPECT_EQ(stat.at("kind_state").at("depth"), 5000 - lost);  // nothing else lost
  EXPECT_TRUE(stat.at("attached").empty()) << stat.dump();
  EXPECT_EQ(stat.at("stale"), false);

  // Any command: a closed pipe on stdout is a one-line runtime error.
  const test::CommandResult listed = test::run_into_closed_pipe(argv({"stat", "q"}));
  EXPECT_EQ(listed.exit_code, 1) << listed.err;
  EXPECT_EQ(listed.err, "shmkit: writing to stdout: Broken pipe\n");
  // A command run by 'shmkit lock' gets SIGPIPE as shmkit was given it.
  const test::CommandResult locked =
      test::run_into_closed_pipe(argv({"lock", "l", "--", "/bin/sh", "-c", "echo x"}));
  EXPECT_EQ(locked.exit_code, 128 + SIGPIPE) << locked.err;
}

// A closed stdin or stdout stays closed: no file the tool opens itself (the
// signal self-pipe, an object) takes its place. put must not read its own
// self-pipe as stdin (it hung), nor get write messages into it (they were
// lost with exit 0).
TEST_F(CliQueue, PutWithStdinClosedFailsToReadIt) {
  create("q", "4", "8");
  const std::string put =
      "exec '" + std::string(kCli) + "' --dir '" + dir_.path() + "' put q --close <&-";
  test::Spawned spawned({"/bin/sh", "-c", put});
  const test::CommandResult r = spawned.finish(30'000);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "shmkit: put: reading stdin: Bad file descriptor\n");
  const json state = queue_state("q");
  EXPECT_EQ(state.at("depth"), 0);
  EXPECT_EQ(state.at("closed"), true);
}

TEST_F(CliQueue, GetWithStdoutClosedSaysWhatItLost) {
  create("q", "4", "8");
  ASSERT_EQ(shmkit({"put", "q", "--file", file_of("a\nb\n")}).exit_code, 0);
  const std::string get =
      "exec '" + std::string(kCli) + "' --dir '" + dir_.path() + "' get q --timeout 0 <&- >&-";
  test::Spawned spawned({"/bin/sh", "-c", get});
  const test::CommandResult r = spawned.finish(30'000);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err,
            "shmkit: get: writing to stdout failed; up to 2 messages taken from queue 'q' were "
            "not written: Bad file descriptor\n");
  const json stat = json::parse(shmkit({"stat", "q", "--json"}).out);
  EXPECT_EQ(stat.at("kind_state").at("depth"), 0);
  EXPECT_TRUE(stat.at("attached").empty()) << stat.dump();
}

// put and get stop on SIGINT, SIGTERM and SIGHUP the way a reader or a
// writer leaves a queue, not attached any more: a queue whose attached
// processes all died is stale, and 'rm --stale' would remove it with its
// messages. put --close closes it. Exit status 128+N and one line. A get or
// put asleep in the queue (no deadline, or get's --timeout) is woken by the
// signal itself.
TEST_F(CliQueue, ASignalStopsGetAndPutWithoutLeavingTheQueueStale) {
  create("q", "2", "8");
  const auto stat = [&](const std::string& name) {
    return json::parse(shmkit({"stat", name, "--json"}).out);
  };
  const auto get_stopped_by = [&](const std::vector<std::string>& args, int signal,
                                  const std::string& line) {
    test::Spawned get(argv(args));
    ASSERT_TRUE(test::eventually([&] { return queue_state("q").at("consumers_waiting") == 1; }));
    ASSERT_EQ(::kill(get.pid(), signal), 0);
    const test::CommandResult r = get.finish();
    EXPECT_EQ(r.exit_code, 128 + signal) << r.err;
    EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find(line), std::string::npos) << r.err;
  };
  get_stopped_by({"get", "q"}, SIGINT,
                 "get: interrupted by signal 2 (Interrupt) after 0 messages of queue 'q'");
  get_stopped_by({"get", "q", "--timeout", "3600"}, SIGTERM,
                 "get: interrupted by signal 15 (Terminated) after 0 messages of queue 'q'");
  {
    test::Spawned put(argv({"put", "q", "--close"}), true);
    put.write_stdin("1\n2\n3\n");  // two fit; the third waits for room
    ASSERT_TRUE(test::eventually([&] { return queue_state("q").at("producers_waiting") == 1; }));
    ASSERT_EQ(::kill(put.pid(), SIGINT), 0);
    const test::CommandResult r = put.finish();
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("put: interrupted by signal 2 (Interrupt); 2 messages were put into "
                         "queue 'q', which is closed"),
              std::string::npos)
        << r.err;
  }
  json q = stat("q");
  EXPECT_EQ(q.at("stale"), false);
  EXPECT_TRUE(q.at("attached").empty()) << q.dump();
  EXPECT_EQ(q.at("kind_state").at("closed"), true);
  EXPECT_EQ(shmkit({"get", "q"}).out, "1\n2\n");

  create("r", "4", "8");
  {
    test::Spawned put(argv({"put", "r"}), true);  // waits for input that never comes
    ASSERT_TRUE(test::eventually([&] { return !stat("r").at("attached").empty(); }));
    ASSERT_EQ(::kill(put.pid(), SIGHUP), 0);
    const test::CommandResult r = put.finish();
    EXPECT_EQ(r.exit_code, 128 + SIGHUP) << r.err;
    EXPECT_NE(r.err.find("0 messages were put into queue 'r'"), std::string::npos) << r.err;
  }
  const json r = stat("r");
  EXPECT_EQ(r.at("stale"), false);
  EXPECT_TRUE(r.at("attached").empty()) << r.dump();
  EXPECT_EQ(r.at("kind_state").at("closed"), false);
}

TEST_F(CliQueue, LongLineAcrossReadBlocksIsCaught) {
  create("q", "8", "1K");
  const std::string huge(3 << 20, 'x');  // longer than put's 1 MiB read block
  const test::CommandResult r = shmkit({"put", "q", "--file", file_of("a\n" + huge + "\nb\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  EXPECT_EQ(shmkit({"get", "q", "--timeout", "0"}).out, "a\n");
}

TEST_F(CliQueue, WrongKindIsRuntimeError) {
  ASSERT_EQ(shmkit({"create", "bytes", "--size", "100"}).exit_code, 0);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"get", "bytes", "--timeout", "0"}, {"put", "bytes", "--file", file_of("x\n")}}) {
    const test::CommandResult r = shmkit(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(test::split_lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("wrong kind"), std::string::npos) << r.err;
  }
  const test::CommandResult missing = shmkit({"get", "nope", "--timeout", "0"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  const test::CommandResult no_file =
      shmkit({"queue", "create", "q", "--capacity", "2", "--max-msg", "8"});
  ASSERT_EQ(no_file.exit_code, 0);
  const test::CommandResult unreadable = shmkit({"put", "q", "--file", dir_.path() + "/absent"});
  EXPECT_EQ(unreadable.exit_code, 1);
  EXPECT_NE(unreadable.err.find("absent"), std::string::npos) << unreadable.err;
}

// put and get carry lines, so they take a byte queue only. A typed Queue<T>
// made by the library is a queue too (ls and stat say so): the error says
// plainly what it is and what put and get take.
TEST_F(CliQueue, PutAndGetRefuseATypedQueueSayingTheyTakeAByteQueue) {
  SegmentOptions options;
  options.directory = dir_.path();
  auto typed = Queue<std::int32_t>::create("ints", 4, options);
  ASSERT_EQ(typed.push(7), QueueStatus::ok);
  EXPECT_EQ(queue_state("ints").at("depth"), 1);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"get", "ints", "--timeout", "0"}, {"put", "ints", "--file", file_of("8\n")}}) {
    const test::CommandResult r = shmkit(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err,
              "shmkit: " + args[0] +
                  ": queue 'ints' is a Queue<int32>, not a byte queue; put and get take a "
                  "byte queue (made by 'shmkit queue create' or shmkit::ByteQueue): element type "
                  "mismatch\n");
  }
  EXPECT_EQ(queue_state("ints").at("depth"), 1);  // untouched
}

TEST_F(CliQueue, CreateChecksItsOptions) {
  create("q", "1000", "64K");
  const json state = queue_state("q");
  EXPECT_EQ(state.at("capacity"), 1024);  // rounded up to a power of two
  EXPECT_EQ(state.at("max_message"), 65536);
  EXPECT_EQ(state.at("closed"), false);
  const test::CommandResult again =
      shmkit({"queue", "create", "q", "--capacity", "2", "--max-msg", "8"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

  const std::vector<std::vector<std::string>> usage{
      {"queue"},
      {"queue", "create", "z"},
      {"queue", "create", "z", "--capacity", "4"},
      {"queue", "create", "z", "--max-msg", "4"},
      {"queue", "create", "z", "--capacity", "0", "--max-msg", "4"},
      {"queue", "create", "z", "--capacity", "16777217", "--max-msg", "4"},
      {"queue", "create", "z", "--capacity", "4", "--max-msg", "0"},
      {"queue", "create", "z", "--capacity", "4", "--max-msg", "65M"},
      {"queue", "create", "z", "--capacity", "16777216", "--max-msg", "64M"},
      {"queue", "create", "z", "--capacity", "524289", "--max-msg", "64M"},
      {"queue", "create", "z", "--capacity", "4", "--max-msg", "4", "--mode", "rw"},
      {"queue", "frob"},
      {"put"},
      {"put", "q", "--bogus"},
      {"get"},
      {"get", "q", "--count", "-1"},
      {"get", "q", "--timeout", "-1"},
  };
  for (const auto& args : usage) {
    const test::CommandResult r = shmkit(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << r.err;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_EQ(r.err.rfind("shmkit: ", 0), 0u) << joined << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << joined << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_.path() + "/shmkit.z"));
  const test::CommandResult nested =
      shmkit({"queue", "create", "z", "--capacity", "4", "--max-msg", "0"});
  EXPECT_NE(nested.err.find("shmkit queue create --help"), std::string::npos) << nested.err;
}

// Each option within its own limit, but together more memory than one object
// may have (64 TiB): a usage error naming both, not a runtime error about a
// size the user never gave.
TEST_F(CliQueue, CreateTooLargeInAllIsAUsageErrorNamingBothOptions) {
  const test::CommandResult r =
      shmkit({"queue", "create", "z", "--capacity", "16777216", "--max-msg", "64M"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err,
            "shmkit: --capacity and --max-msg: 16777216 slots of 67108864 bytes need "
            "1125900980592896 bytes of memory, more than the 64T a queue may have "
            "(70368744177664); with this --max-msg, --capacity is at most 524288\n"
            "Run 'shmkit queue create --help' for usage.\n");
  // The capacity is rounded up to a power of two before the check.
  const test::CommandResult rounded =
      shmkit({"queue", "create", "z", "--capacity", "524289", "--max-msg", "64M"});
  EXPECT_EQ(rounded.exit_code, 2) << rounded.err;
  EXPECT_NE(rounded.err.find("1048576 slots of 67108864 bytes"), std::string::npos) << rounded.err;
  EXPECT_FALSE(fs::exists(dir_.path() + "/shmkit.z"));
}

TEST_F(CliQueue, HelpTellsTheContract) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<const char*>>> cases{
      {{"queue", "create", "--help"}, {"--capacity", "--max-msg", "power of two", "--mode"}},
      {{"put", "--help"},
       {"--file", "--close", "line", "message_too_large", "closed", "byte queue", "Queue<T>"}},
      {{"get", "--help"},
       {"--count", "--timeout", "closed and drained", "exit status 0", "line of its own",
        "byte queue", "Queue<T>", "64 KiB"}},
  };
  for (const auto& [args, texts] : cases) {
    std::vector<std::string> all{kCli};
    all.insert(all.end(), args.begin(), args.end());
    const test::CommandResult r = test::run_command(all);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    for (const char* text : texts) {
      EXPECT_NE(r.out.find(text), std::string::npos) << text << " in\n" << r.out;
    }
  }
}

}  // namespace
}  // namespace shmkit
