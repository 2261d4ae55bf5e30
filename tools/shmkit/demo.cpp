#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "options.hpp"
#include "shmkit/detail/printable.hpp"
#include "shmkit/list.hpp"
#include "shmkit/platform/interrupt.hpp"
#include "shmkit/platform/std_fds.hpp"
#include "shmkit/process.hpp"
#include "signal_stop.hpp"

// shmkit demo [--count N] [--interval SECONDS] [--name NAME]
//
// The classic writer/reader program of Python's multiprocessing, in shared
// memory: a writer process appends 0..N-1 to a List, printing "Writer added: i"
// just before each append; a reader process, sleeping in the kernel between
// items, prints "Reader read: i" for each. They share nothing but the list's
// name. The parent creates the list (exclusively, so that the list it removes
// at the end is always its own), supervises the two children and removes the
// list whatever happens: success, a failed child, SIGINT, SIGTERM or SIGHUP.

namespace shmkit::cli {
namespace {

using Items = List<std::int64_t>;

struct DemoOptions {
  std::int64_t count = 5;
  double interval = 1.0;
  std::string name;
};

// One line, one write: lines of the two processes never interleave mid-line.
void say(const std::string& line) {
  const std::string text = line + '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void write_items(const DemoOptions& options, const SegmentOptions& segment_options) {
  Items list = Items::open(options.name, segment_options);
  const auto pause = std::chrono::duration<double>(options.interval);
  for (std::int64_t i = 0; i < options.count; ++i) {
    if (i > 0 && options.interval > 0) std::this_thread::sleep_for(pause);
    say("Writer added: " + std::to_string(i));
    list.append(i);
  }
  list.close();  // the reader stops once it has read everything
}

void read_items(const DemoOptions& options, const SegmentOptions& segment_options) {
  const Items list = Items::open(options.name, segment_options);
  // Sleeps in the kernel (futex) until item i exists; false once the list is
  // closed and drained. No timeout: the parent ends us if the writer fails.
  for (std::uint64_t i = 0; list.wait_for_size(i + 1); ++i) {
    say("Reader read: " + std::to_string(list[i]));
  }
}

// A child's whole life. A failure is reported here, as the one line of the
// demo's error, and the child exits 1; the parent adds a line only for a child
// that a signal ended (it could not speak for itself).
void run_child(const char* who, std::int32_t parent, const std::function<void()>& part) {
  platform::InterruptWatch::reset_in_child();
  // A child that writes to a closed pipe dies of it, as before main ignored
  // SIGPIPE: the parent reports the signal (a reader like 'head' has gone).
  platform::restore_start_sigpipe();
  // If the demo is killed outright (SIGKILL: it can clean nothing up), its
  // children go too, instead of waiting for ever for a list nobody writes.
  if (!die_with_parent(parent)) exit_now(kExitFailure);
  try {
    part();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "shmkit: demo %s (pid %d) failed: %s\n", who, current_pid(), e.what());
    exit_now(kExitFailure);
  }
}

// Removes the demo's list when the demo ends, however it ends.
class ListRemover {
 public:
  ListRemover(std::string name, SegmentOptions options)
      : name_(std::move(name)), options_(std::move(options)) {}
  ListRemover(const ListRemover&) = delete;
  ListRemover& operator=(const ListRemover&) = delete;
  ~ListRemover() { remove(); }
  void remove() noexcept {
    if (done_) return;
    done_ = true;
    try {
      Items::remove(name_, options_);
    } catch (const std::exception& e) {
      print_error(e.what());
    }
  }

 private:
  std::string name_;
  SegmentOptions options_;
  bool done_ = false;
};

// Waits for both children, or a signal, whichever comes first. Returns the
// signal (children killed and reaped), or 0 with both children reaped and
// `cause` naming the first child that failed, if any (the other one was killed
// because of it: not a cause).
int supervise(const platform::InterruptWatch& interrupts, Process& writer, Process& reader,
              Process*& cause) {
  const std::array<Process*, 2> children{&writer, &reader};
  std::array<bool, 2> done{false, false};
  while (!(done[0] && done[1])) {
    std::vector<int> fds{interrupts.fd()};
    for (std::size_t c = 0; c < 2; ++c) {
      if (!done[c]) fds.push_back(children[c]->wait_fd());
    }
    platform::wait_readable(fds, std::nullopt);
    if (interrupts.signal() != 0) {
      for (Process* child : children) child->kill();
      for (Process* child : children) child->join();
      return interrupts.signal();
    }
    for (std::size_t c = 0; c < 2; ++c) {
      if (done[c] || !children[c]->join_for(std::chrono::milliseconds(0))) continue;
      done[c] = true;
      if (!children[c]->exit_status()->ok() && cause == nullptr) {
        cause = children[c];
        children[1 - c]->kill();
      }
    }
  }
  return 0;
}

int run_demo(const DemoOptions& options, const GlobalOptions& global) {
  SegmentOptions segment_options;
  segment_options.directory = global.directory;
  // Before the list exists: a signal from here on is seen by the loop below.
  const platform::InterruptWatch interrupts;
  try {
    Items::create(options.name, segment_options);  // closed at once: the children open it by name
  } catch (const Error& e) {
    if (e.code() != Errc::already_exists) throw;
    print_error("demo: object '" + options.name + "' already exists in " + global.directory +
                ": choose another --name, or remove it with: " +
                detail::rm_command(options.name, global.directory));
    return kExitFailure;
  }
  ListRemover remover(options.name, segment_options);

  const std::int32_t parent = current_pid();
  Process writer(
      [&] { run_child("writer", parent, [&] { write_items(options, segment_options); }); },
      "writer");
  Process reader(
      [&] { run_child("reader", parent, [&] { read_items(options, segment_options); }); },
      "reader");
  writer.start();
  reader.start();
  Process* cause = nullptr;
  const int signal = supervise(interrupts, writer, reader, cause);
  remover.remove();
  if (signal != 0) {
    print_error("demo " + interrupted_by(signal) + "; removed list '" + options.name + "'");
    return 128 + signal;
  }
  if (cause == nullptr) return kExitOk;
  const ExitStatus status = *cause->exit_status();
  if (status.signal != 0) {
    print_error("demo " + cause->name() + " (pid " + std::to_string(cause->pid()) + ") " +
                status.describe());
  }
  return kExitFailure;
}

}  // namespace

Command add_demo_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<DemoOptions>();
  options->name = "demo-" + std::to_string(current_pid());
  CLI::App* app = main_app.add_subcommand(
      "demo",
      "Run the writer/reader demo: two processes share a list; the writer appends 0..N-1, "
      "the reader prints each item as it arrives (asleep in the kernel in between).");
  app->add_option("--count", options->count, "Items the writer appends (default 5)")
      ->transform(count_validator(0, std::numeric_limits<std::int64_t>::max()))
      ->type_name("N");
  app->add_option("--interval", options->interval,
                  "Seconds the writer waits between appends, like 0.05 (default 1, as in the "
                  "Python original; 0 allowed)")
      ->transform(seconds_validator())
      ->type_name("SECONDS");
  app->add_option("--name", options->name,
                  "Name of the list (default demo-PID); it must not exist. The demo creates it "
                  "and removes it at the end, also when interrupted or when a child fails")
      ->type_name("NAME");
  app->footer(
      "Prints 'Writer added: i' (the writer, just before it appends i) and 'Reader read: i'\n"
      "(the reader, once item i is in the list) on stdout, one whole line per write.\n"
      "Exit status: 0 if both processes succeeded; 1 if the list could not be created (NAME\n"
      "exists, invalid name, no room) or a child failed (its error on stderr); 128+N if\n"
      "interrupted by signal N (SIGINT, SIGTERM or SIGHUP): the children are killed first.");
  return {app, [options, &global] { return run_demo(*options, global); }};
}

}  // namespace shmkit::cli
