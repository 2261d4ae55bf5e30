// The examples a new user reads first, run as they would run them: each
// prints what its comment promises, exits 0, and leaves nothing behind.
#include <string>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace shmkit {
namespace {

TEST(Examples, QueueWorkersSumTheSquaresThroughTwoQueues) {
  const std::string name = test::unique_name("ex-workers");
  const test::CommandResult r = test::run_command({SHMKIT_QUEUE_WORKERS_PATH, name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "sum of the squares of 1..1000: 333833500\n");
  EXPECT_TRUE(test::leftovers().empty());
}

TEST(Examples, PipeEchoAnswersEachLineThenTheServerStopsOnSigterm) {
  const std::string name = test::unique_name("ex-echo");
  const test::CommandResult r = test::run_command({SHMKIT_PIPE_ECHO_PATH, name});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "client: sent \"hello\", got \"HELLO\"\n"
            "client: sent \"shared memory\", got \"SHARED MEMORY\"\n"
            "client: sent \"goodbye\", got \"GOODBYE\"\n"
            "server: stopped by signal 15\n");
  EXPECT_TRUE(test::leftovers().empty());
}

}  // namespace
}  // namespace shmkit
