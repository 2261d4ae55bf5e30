#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "commands.hpp"
#include "options.hpp"
#include "queue_open.hpp"
#include "shmkit/queue.hpp"
#include "signal_stop.hpp"

// shmkit get NAME [--count N] [--timeout SECONDS]
//
// Prints one message per line. Takes messages in batches while there are
// some and writes out each batch before it takes the next: a batch fits the
// stdout buffer (64 KiB, or one message), so it is one write, and a failed
// write loses that batch at most. A reader downstream sees each message
// promptly, since get never sleeps with messages unwritten.

namespace shmkit::cli {
namespace {

constexpr std::size_t kBatch = 4096;
constexpr std::size_t kOutputBuffer = std::size_t{64} << 10;

// Messages of one batch: as many as surely fit the output buffer (each with
// its newline), at least 1 and at most kBatch.
std::size_t batch_for(std::uint32_t max_message) {
  return std::clamp<std::size_t>(kOutputBuffer / (std::size_t{max_message} + 1), 1, kBatch);
}

struct GetOptions {
  std::string name;
  std::uint64_t count = 0;
  bool has_count = false;
  double timeout = 0;
  bool has_timeout = false;
};

// stdout through a large buffer of its own. The buffer is static: stdio keeps
// using it until the program ends, and setvbuf may not be called again after
// output, so it must outlive every write.
//
// Messages are taken from the queue before they are written: if writing
// fails, those not yet written are lost, and the error says how many at most.
// get stops taking messages as soon as it sees a failed write. (SIGPIPE is
// ignored, in main: a pipe whose reader has gone is a failed write, EPIPE.)
class Output {
 public:
  Output() { std::setvbuf(stdout, buffer_.data(), _IOFBF, buffer_.size()); }
  void line(std::span<const std::byte> message) {
    std::fwrite(message.data(), 1, message.size(), stdout);
    std::fputc('\n', stdout);
    ++unflushed_;
  }
  void flush(const std::string& queue_name) {
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) fail(errno, queue_name);
    unflushed_ = 0;
  }

 private:
  [[noreturn]] void fail(int error, const std::string& queue_name) const {
    throw_errno(error, "get: writing to stdout failed; up to " + std::to_string(unflushed_) +
                           " messages taken from queue '" + queue_name + "' were not written");
  }
  // A private member, named as one; clang-tidy takes a static one for a
  // plain variable.
  static std::array<char, kOutputBuffer> buffer_;  // NOLINT(readability-identifier-naming)
  std::uint64_t unflushed_ = 0;
};

std::array<char, kOutputBuffer> Output::buffer_{};

int run_get(const GetOptions& options, const GlobalOptions& global) {
  // First: from the moment the queue lists us, a signal must not kill us.
  platform::InterruptWatch interrupts;
  ByteQueue queue = open_byte_queue("get", options.name, global.directory);
  const InterruptOnSignal stop(interrupts, queue);  // a wait for a message ends on a signal
  const std::string& name = queue.segment().name();
  Output out;
  const std::size_t batch = batch_for(queue.max_message());
  std::uint64_t got = 0;
  const auto print = [&out](std::span<const std::byte> m) { out.line(m); };
  while ((!options.has_count || got < options.count) && interrupts.signal() == 0) {
    const auto max = static_cast<std::size_t>(
        options.has_count ? std::min<std::uint64_t>(options.count - got, batch) : batch);
    // What is there (waiting for the first if none is), in place: no copy
    // but the one into the stdout buffer.
    std::size_t n = 0;
    const QueueStatus status =
        options.has_timeout
            ? queue.pop_batch_for(max, n, std::chrono::duration<double>(options.timeout), print)
            : queue.pop_batch(max, n, print);
    got += n;
    out.flush(name);  // this batch, before we take more or sleep
    // Else interrupted (a signal), timed_out, or closed and drained.
    if (status != QueueStatus::ok) break;
  }
  out.flush(name);  // what was taken is written, signal or not
  if (const int signal = interrupts.signal(); signal != 0) {
    print_error("get: " + interrupted_by(signal) + " after " + std::to_string(got) +
                " messages of queue '" + name + "'");
    return 128 + signal;
  }
  return kExitOk;
}

}  // namespace

Command add_get_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<GetOptions>();
  CLI::App* app = main_app.add_subcommand(
      "get", "Take messages from the queue NAME and print each on a line of its own.");
  app->add_option("NAME", options->name, "Queue name (made by 'shmkit queue create')")
      ->type_name("")
      ->required();
  CLI::Option* count =
      app->add_option("--count", options->count, "Stop after N messages (default: no limit)")
          ->transform(count_validator(0, std::numeric_limits<std::uint64_t>::max()))
          ->type_name("N");
  CLI::Option* timeout =
      app->add_option("--timeout", options->timeout,
                      "Stop once no message has come for SECONDS, like 0.5; 0 takes only what "
                      "is there now (default: wait as long as it takes)")
          ->transform(seconds_validator())
          ->type_name("SECONDS");
  app->callback([options, count, timeout] {
    options->has_count = count->count() > 0;
    options->has_timeout = timeout->count() > 0;
  });
  app->footer(
      "Takes a byte queue: one made by 'shmkit queue create' or shmkit::ByteQueue, not a\n"
      "typed Queue<T> of the library (its messages are T values, not lines).\n"
      "Stops, with exit status 0, after N messages (--count), once no message came within\n"
      "--timeout, or when the queue is closed and drained, whichever comes first. Each\n"
      "message is printed as it is, followed by a newline. Messages taken are gone from the\n"
      "queue; several get processes share the messages between them. get takes a batch\n"
      "of at most 64 KiB of messages (or one message, if larger) and writes it before it\n"
      "takes more. If writing to stdout fails (a full disk; a pipe whose reader has gone,\n"
      "like 'head'), get stops with exit status 1, and the messages of the batch it could\n"
      "not write are lost: the error says how many at most. Messages written to a pipe\n"
      "that its reader then never read are gone from the queue too.\n"
      "Exit status: 1 if NAME is not a byte queue (or another error), 2 for a usage error;\n"
      "128+N when signal N (SIGINT, SIGTERM or SIGHUP) stops it: it writes what it took,\n"
      "leaves the queue as any reader leaves it, and says how many messages it got.");
  return {app, [options, &global] { return run_get(*options, global); }};
}

}  // namespace shmkit::cli
