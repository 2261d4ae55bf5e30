// peer.python: Python's multiprocessing, run through the system python3
// (bench/python/mp_peer.py, workloads/python_peer.hpp), each interleaved with
// the shmkit object that does the same job:
//   Manager().list() append + read  vs  shmkit::List  (issue 6: >= 1000x)
//   multiprocessing.Queue           vs  shmkit::ByteQueue, 64 B msgs/s
//   multiprocessing.Pipe()          vs  shmkit::Pipe, blocking 64 B ping-pong

#include "harness/registry.hpp"
#include "workloads/python_peer.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

const std::string kList = "python Manager().list()";
const std::string kQueue = "python Queue";
const std::string kPipe = "python Pipe";

void run(Context& ctx) {
  (void)require_python3();  // skips the case before anything runs
  ctx.interleave({{"shmkit", &list_append_read_rep}, {kList, &python_list_rep}});
  ctx.interleave({
      {"shmkit", [](Context& c, const std::string& s) { queue_throughput_rep(c, s, 1); }},
      {kQueue, &python_queue_rep},
  });
  // Both sides block in the kernel when they wait: shmkit on a futex,
  // Python in read() on its pipe.
  ctx.interleave({
      {"shmkit",
       [](Context& c, const std::string& s) { pipe_pingpong_rep(c, s, PipeWaiting::sleep); }},
      {kPipe, &python_pipe_rep},
  });
  ctx.ratio({.metric = metrics::kItemsPerSecond.name,
             .numerator = "shmkit",
             .denominator = kList,
             .goal_at_least = 1000.0,
             .goal_source = "issue 6"});
  ctx.ratio({.metric = metrics::kMsgs64.name, .numerator = "shmkit", .denominator = kQueue});
  ctx.ratio({.metric = metrics::kOneWayP50.name, .numerator = "shmkit", .denominator = kPipe});
  ctx.note(
      "Manager().list(): every len() and item read is a round trip to the Manager's server "
      "process (unpinned); the reader polls len(), as such a program does");
}

const Registration kCase{{
    .name = "peer.python",
    .group = "peer",
    .description = "Python multiprocessing (Manager().list() append/read, Queue, Pipe) through "
                   "python3, vs shmkit List, ByteQueue, Pipe",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
