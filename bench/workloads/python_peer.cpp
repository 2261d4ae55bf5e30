#include "workloads/python_peer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "harness/samples.hpp"
#include "mp_peer_script.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

using Json = nlohmann::json;

// The warm-up each Python role runs before it measures: longer than the C++
// cases' 10 ms, as a role's first calls also connect it to the Manager.
constexpr int kWarmUpMs = 20;

// At most this much of the script's output goes into a failure message.
constexpr std::size_t kMaxQuoted = 2000;

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// `program` in the directories of $PATH, as execvp would find it; "" if none.
std::string find_on_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    const std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) dir = ".";  // an empty entry is the current directory
    std::string candidate = dir + "/" + std::string(program);
    if (is_executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) return {};
    dirs.remove_prefix(colon + 1);
  }
}

// The end of `text`, on one line, for a failure message.
std::string tail(const std::string& text) {
  std::string t = text.size() > kMaxQuoted ? "..." + text.substr(text.size() - kMaxQuoted) : text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  std::string line;
  for (const char c : t) line += c == '\n' ? std::string("; ") : std::string(1, c);
  return line;
}

std::string exit_description(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by signal ") + ::strsignal(WTERMSIG(status));
  }
  return "ended oddly (wait status " + std::to_string(status) + ")";
}

// A pipe whose ends close with it.
struct PipeFds {
  int read = -1;
  int write = -1;
  PipeFds() {
    int fds[2];
    // O_CLOEXEC: python3 gets only the ends dup2'ed onto its stdout/stderr.
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw CaseFailure(std::string("pipe: ") + std::strerror(errno));
    }
    read = fds[0];
    write = fds[1];
  }
  PipeFds(const PipeFds&) = delete;
  PipeFds& operator=(const PipeFds&) = delete;
  ~PipeFds() {
    close_read();
    close_write();
  }
  void close_read() noexcept {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void close_write() noexcept {
    if (write >= 0) ::close(write);
    write = -1;
  }
};

// In the forked child: becomes python3 with stdout and stderr on the pipes.
// Async-signal-safe calls only between fork and exec.
[[noreturn]] void exec_python(const char* path, char* const* argv, int out, int err, pid_t parent) {
  // A group of its own, which the interpreter's processes (Manager, roles)
  // join: the watchdog kills it whole.
  ::setpgid(0, 0);
  // Die with shmkit-bench (kept across exec); the script passes it on to its
  // own processes. If shmkit-bench is already gone, do not start at all.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  // exec resets caught signals but keeps the mask and ignored ones.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  const int in = ::open("/dev/null", O_RDONLY);
  if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
  ::execv(path, argv);
  constexpr char kMessage[] = "shmkit-bench: cannot exec python3\n";
  [[maybe_unused]] const ssize_t w = ::write(2, kMessage, sizeof kMessage - 1);
  ::_exit(127);
}

// What a finished run of the script left.
struct ScriptRun {
  std::string out;
  std::string err;
  int status = 0;  // waitpid's
};

// python3 running the script, in a process group of its own. The destructor
// kills the group and reaps python3 if it is still running (a case that threw).
class PythonProcess {
 public:
  PythonProcess(const std::string& python, const std::vector<std::string>& args);
  PythonProcess(const PythonProcess&) = delete;
  PythonProcess& operator=(const PythonProcess&) = delete;
  ~PythonProcess() { kill_and_reap(); }

  // Reads stdout and stderr until both close (every process of the script has
  // exited: they all share them), then reaps python3. Past `watchdog`, kills
  // the group and throws CaseFailure.
  ScriptRun wait(std::chrono::seconds watchdog);

 private:
  void kill_and_reap() noexcept;
  int reap() noexcept;

  PipeFds out_;
  PipeFds err_;
  pid_t pid_ = -1;  // also the process group's id
};

PythonProcess::PythonProcess(const std::string& python, const std::vector<std::string>& args) {
  std::vector<char*> argv;  // built before fork: the child may not allocate
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execv
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw CaseFailure(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) exec_python(python.c_str(), argv.data(), out_.write, err_.write, parent);
  // Also here, so that the group exists before any kill(-pid_); the child's own
  // call may come first (then this fails harmlessly, as it does after exec).
  ::setpgid(pid_, pid_);
  out_.close_write();
  err_.close_write();
}

// Appends what `fd` has to `sink`; false at the end of the stream.
bool drain(int fd, std::string& sink) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      sink.append(buffer, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

ScriptRun PythonProcess::wait(std::chrono::seconds watchdog) {
  const auto deadline = std::chrono::steady_clock::now() + watchdog;
  ScriptRun run;
  pollfd fds[2] = {{out_.read, POLLIN, 0}, {err_.read, POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open = 2;
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      kill_and_reap();
      throw CaseFailure("watchdog: python3 ran past " + std::to_string(watchdog.count()) +
                        " s and was killed" + (run.err.empty() ? "" : ": " + tail(run.err)));
    }
    const int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw CaseFailure(std::string("poll: ") + std::strerror(errno));
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      if (!drain(fds[i].fd, *sinks[i])) {
        fds[i].fd = -1;  // poll skips it from now on
        --open;
      }
    }
  }
  run.status = reap();
  return run;
}

int PythonProcess::reap() noexcept {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

void PythonProcess::kill_and_reap() noexcept {
  if (pid_ <= 0) return;
  // The group before its leader is reaped: until then its id cannot be
  // reused, so this kills the script's processes and nothing else.
  ::kill(-pid_, SIGKILL);
  reap();
}

// Runs the script in `mode` for one repetition and returns its figures.
Json run_mp_peer(Context& ctx, const std::string& mode) {
  const std::string& python = require_python3();
  const std::vector<std::string> args = {python,
                                         "-I",
                                         "-B",
                                         "-c",
                                         kMpPeerScript,
                                         mode,
                                         std::to_string(ctx.duration().count()),
                                         std::to_string(ctx.cpu(0)),
                                         std::to_string(ctx.cpu(1)),
                                         std::to_string(kWarmUpMs)};
  PythonProcess process(python, args);
  const ScriptRun run = process.wait(ctx.options().watchdog);
  const std::string who = "python " + mode;
  if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
    throw CaseFailure(who + ": " + exit_description(run.status) +
                      (run.err.empty() ? "" : ": " + tail(run.err)));
  }
  Json figures = Json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  if (figures.is_discarded() || !figures.is_object() || figures.value("mode", "") != mode) {
    throw CaseFailure(who + ": malformed output '" + tail(run.out) + "'" +
                      (run.err.empty() ? "" : " (stderr: " + tail(run.err) + ")"));
  }
  ctx.note("python3 " + figures.value("python", "?") + " (" + python +
           "); its processes are those of multiprocessing, fork start method");
  return figures;
}

double number(const Json& figures, const char* key, const std::string& mode) {
  const auto it = figures.find(key);
  if (it == figures.end() || !it->is_number()) {
    throw CaseFailure("python " + mode + ": no number '" + key + "' in its output");
  }
  return it->get<double>();
}

}  // namespace

const std::string& require_python3() {
  static const std::string path = find_on_path("python3");
  if (path.empty()) throw CaseSkipped("python3 not found");
  return path;
}

void python_list_rep(Context& ctx, const std::string& system) {
  const Json figures = run_mp_peer(ctx, "list");
  ctx.record(system, metrics::kItemsPerSecond, number(figures, "items_per_s", "list"));
}

void python_queue_rep(Context& ctx, const std::string& system) {
  const Json figures = run_mp_peer(ctx, "queue");
  ctx.record(system, metrics::kMsgs64, number(figures, "msgs_per_s", "queue"));
}

void python_pipe_rep(Context& ctx, const std::string& system) {
  const Json figures = run_mp_peer(ctx, "pipe");
  const auto it = figures.find("round_trip_ns");
  if (it == figures.end() || !it->is_array()) {
    throw CaseFailure("python pipe: no 'round_trip_ns' array in its output");
  }
  std::vector<std::uint32_t> samples;
  samples.reserve(it->size());
  constexpr double kMax = std::numeric_limits<std::uint32_t>::max();
  for (const Json& v : *it) {
    if (!v.is_number()) throw CaseFailure("python pipe: a round trip that is not a number");
    samples.push_back(static_cast<std::uint32_t>(std::clamp(v.get<double>(), 0.0, kMax)));
  }
  // A sample is a round trip in ns: one-way is half of it.
  record_latency(ctx, system, latency_figures(samples.data(), samples.size(), 0.5));
}

}  // namespace shmkit::bench
