// pipe_echo: multiprocessing's Pipe between a client and a server process.
// The server answers each line with the line in capitals until it is told to
// stop by SIGINT, SIGTERM or SIGHUP: the signal handler interrupts its
// blocked recv (Pipe::interrupt()), and it leaves cleanly. The client sends
// three lines, prints the answers, then stops the server with SIGTERM.
//
//   pipe_echo [NAME]     (the pipe's name; "example-pipe" if none)
#include <cctype>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <shmkit/pipe.hpp>
#include <shmkit/platform/interrupt.hpp>
#include <shmkit/process.hpp>

namespace {

// Runs in the signal handler: only async-signal-safe calls, as interrupt() is.
void interrupt_pipe(void* pipe) noexcept { static_cast<shmkit::Pipe*>(pipe)->interrupt(); }

void serve(const std::string& name) {
  // First the handlers, then the pipe: the client's SIGTERM can only come
  // after our first answer.
  shmkit::platform::InterruptWatch signals;
  auto pipe = shmkit::Pipe::open(name);
  signals.set_hook({&interrupt_pipe, &pipe});
  std::string line;
  shmkit::QueueStatus status{};
  while ((status = pipe.recv(line)) == shmkit::QueueStatus::ok) {
    for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    (void)pipe.send(std::as_bytes(std::span(line)));
  }
  signals.set_hook({});  // before `pipe` goes: the handler must not reach it after
  if (status == shmkit::QueueStatus::interrupted) {
    std::cout << "server: stopped by signal " << signals.signal() << std::endl;
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const std::string name = argc > 1 ? argv[1] : "example-pipe";
  try {
    shmkit::Pipe::remove(name);  // a stale one, left by an interrupted run
    auto pipe = shmkit::Pipe::create(name);
    shmkit::Process server([=] { serve(name); }, "server");
    server.start();

    const std::vector<std::string> lines{"hello", "shared memory", "goodbye"};
    std::size_t answered = 0;
    for (const std::string& line : lines) {
      (void)pipe.send(std::as_bytes(std::span(line)));
      std::string answer;
      // Not forever: a server that failed never answers.
      if (pipe.recv_for(answer, 30s) != shmkit::QueueStatus::ok) break;
      ++answered;
      std::cout << "client: sent \"" << line << "\", got \"" << answer << "\"" << std::endl;
    }
    server.terminate();  // SIGTERM
    const shmkit::ExitStatus status = server.join();
    server.check();  // rethrows the server's failure, if any
    shmkit::Pipe::remove(name);
    return status.ok() && answered == lines.size() ? 0 : 1;
  } catch (const shmkit::Error& e) {  // the pipe stays: `shmkit rm` it
    std::cerr << "pipe_echo: " << e.what() << '\n';
    return 1;
  }
}
