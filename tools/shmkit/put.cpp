#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "options.hpp"
#include "queue_open.hpp"
#include "shmkit/platform/input_file.hpp"
#include "shmkit/queue.hpp"
#include "signal_stop.hpp"

// shmkit put NAME [--file PATH] [--close]
//
// Each line of the input is one message, without its newline. Lines are read
// in large blocks and pushed in batches (one claim for as many as fit), so a
// shell pipeline moves hundreds of thousands of lines a second.

namespace shmkit::cli {
namespace {

constexpr std::size_t kReadBlock = std::size_t{1} << 20;

struct PutOptions {
  std::string name;
  std::string file;
  bool close = false;
};

using Bytes = std::span<const std::byte>;

Bytes bytes_of(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

// Thrown when a signal stops put (InterruptWatch says which).
struct Interrupted {};

class Putter {
 public:
  Putter(ByteQueue& queue, std::string source) : queue_(queue), source_(std::move(source)) {}

  // Takes the next block of input; complete lines are pushed before it returns.
  void feed(std::string_view block) {
    while (!block.empty()) {
      const std::size_t newline = block.find('\n');
      if (newline == std::string_view::npos) {
        add_partial(block);
        break;
      }
      const std::string_view rest = block.substr(0, newline);
      block.remove_prefix(newline + 1);
      if (partial_.empty()) {
        add_line(rest);
      } else {
        add_partial(rest);
        flush();  // the batch points into partial_: push it before partial_ changes
        const std::string line = std::move(partial_);
        partial_.clear();
        add_line(line);
        flush();
      }
    }
    flush();
  }

  // End of input: a last line without a newline is a message too.
  void finish() {
    if (partial_.empty()) return;
    const std::string line = std::move(partial_);
    partial_.clear();
    add_line(line);
    flush();
  }

  [[nodiscard]] std::uint64_t pushed() const noexcept { return pushed_; }

 private:
  // A line read in more than one block: its start, kept until its end comes.
  void add_partial(std::string_view piece) {
    check_length(partial_.size() + piece.size(), line_number_ + 1, "at least ");
    partial_.append(piece);
  }
  void add_line(std::string_view line) {
    ++line_number_;
    check_length(line.size(), line_number_, "");
    batch_.push_back(bytes_of(line));
  }
  void check_length(std::size_t bytes, std::uint64_t line_number, const char* at_least) {
    if (bytes <= queue_.max_message()) return;
    flush();  // the lines before it go in
    throw Error(Errc::message_too_large,
                "put: line " + std::to_string(line_number) + " of " + source_ + " (" + at_least +
                    std::to_string(bytes) + " bytes) is longer than the max message of queue '" +
                    queue_.segment().name() + "' (" + std::to_string(queue_.max_message()) +
                    " bytes); the lines before it were put");
  }
  // Pushes the batch, waiting for room while the queue is full; a signal
  // ends the wait (InterruptOnSignal).
  void flush() {
    std::size_t pushed = 0;
    const QueueStatus status = queue_.push_batch(batch_, pushed);
    pushed_ += pushed;
    if (status == QueueStatus::interrupted) throw Interrupted{};
    if (status == QueueStatus::closed) {
      throw Error(Errc::closed, "put: queue '" + queue_.segment().name() + "' is closed (" +
                                    std::to_string(pushed_) + " messages put before)");
    }
    batch_.clear();
  }

  ByteQueue& queue_;
  std::string source_;
  std::vector<Bytes> batch_;
  std::string partial_;
  std::uint64_t line_number_ = 0;
  std::uint64_t pushed_ = 0;
};

// Reads all of `fd` into the putter; throws Interrupted once a signal came.
void put_all(int fd, Putter& putter, const std::string& source,
             const platform::InterruptWatch& interrupts) {
  std::vector<char> block(kReadBlock);
  for (;;) {
    // Waits for input or a signal, whichever comes first (a read would sleep
    // through a signal that came just before it).
    const std::vector<std::size_t> ready = platform::wait_readable({interrupts.fd(), fd}, {});
    if (interrupts.signal() != 0 || (!ready.empty() && ready.front() == 0)) throw Interrupted{};
    std::error_code ec;
    const std::size_t n = platform::read_some(fd, block, ec);
    if (ec == std::errc::interrupted) continue;
    if (ec) throw_errno(ec.value(), "put: reading " + source);
    if (n == 0) break;
    putter.feed(std::string_view(block.data(), n));
  }
  putter.finish();
}

int run_put(const PutOptions& options, const GlobalOptions& global) {
  // First: from the moment the queue lists us, a signal must not kill us.
  platform::InterruptWatch interrupts;
  ByteQueue queue = open_byte_queue("put", options.name, global.directory);
  const InterruptOnSignal stop(interrupts, queue);  // a wait for room ends on a signal
  platform::FileDescriptor file;                    // closed when put ends
  int fd = platform::kStdinFd;
  std::string source = "stdin";
  if (!options.file.empty()) {
    source = "'" + options.file + "'";
    std::error_code ec;
    file = platform::open_for_reading(options.file, ec);
    if (ec) {
      if (options.close) queue.close();  // as for any other failure of put
      throw_errno(ec.value(), "put: cannot open " + source);
    }
    fd = file.get();
  }
  Putter putter(queue, source);
  try {
    put_all(fd, putter, source, interrupts);
  } catch (const Interrupted&) {
    if (options.close) queue.close();
    print_error("put: " + interrupted_by(interrupts.signal()) + "; " +
                std::to_string(putter.pushed()) + " messages were put into queue '" +
                queue.segment().name() + "'" + (options.close ? ", which is closed" : ""));
    return 128 + interrupts.signal();
  } catch (...) {
    if (options.close) queue.close();  // consumers drain what went in, then stop
    throw;
  }
  if (options.close) queue.close();
  return kExitOk;
}

}  // namespace

Command add_put_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<PutOptions>();
  CLI::App* app = main_app.add_subcommand(
      "put", "Put each line of stdin (or of --file) into the queue NAME as one message.");
  app->add_option("NAME", options->name, "Queue name (made by 'shmkit queue create')")
      ->type_name("")
      ->required();
  app->add_option("--file", options->file, "Read the lines from PATH instead of stdin")
      ->check(non_empty_validator())
      ->type_name("PATH");
  app->add_flag("--close", options->close,
                "Close the queue when put ends: consumers then drain it and stop");
  app->footer(
      "Takes a byte queue: one made by 'shmkit queue create' or shmkit::ByteQueue, not a\n"
      "typed Queue<T> of the library (its messages are T values, not lines).\n"
      "A message is a line without its newline (a last line without one counts too; an\n"
      "empty line is an empty message). Waits while the queue is full.\n"
      "Exit status: 0 once every line is in the queue; 1 if NAME is not a byte queue, if the\n"
      "queue is closed (message 'closed'), or if a line is longer than the queue's max\n"
      "message (message_too_large, naming the line: the lines before it are in the queue);\n"
      "128+N when signal N (SIGINT, SIGTERM or SIGHUP) stops it: the lines put so far stay\n"
      "in the queue, and it says how many. With --close the queue is closed also when put\n"
      "fails or is stopped.");
  return {app, [options, &global] { return run_put(*options, global); }};
}

}  // namespace shmkit::cli
