#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// A helper process in private namespaces, for a peer that needs a daemon of
// its own (iceoryx's RouDi) that must not meet another copy of it on the
// machine, and must not outlive the run.
//
// PrivateNamespace forks a relay, which enters new mount, IPC and PID
// namespaces (unshare(2); where that is not permitted, together with a user
// namespace that maps us to root inside it), and forks the host: process 1
// of the new PID namespace. The host makes every mount private, puts a fresh
// tmpfs on each of `tmpfs` (where the daemon keeps its files) and a fresh
// /proc (this PID namespace's), runs `setup` (start the daemon), then serves
// the main process's requests one at a time with `serve`, and runs `teardown`
// (stop the daemon) when the main process lets it go. Whatever `serve` forks
// (a Team) lives in the namespaces too.
//
// Nothing is left behind: the tmpfs mounts exist only in the mount namespace,
// which ends with its last process; the host is that namespace's init, so when
// it dies the kernel kills every process in it; the host dies with the relay
// and the relay with the main process (PR_SET_PDEATHSIG).
//
// Figures go back through memory mapped before the fork (a SharedBlock); the
// requests and their outcomes go through a socket pair. Main process only.

namespace shmkit::bench {

class PrivateNamespace {
 public:
  struct Hooks {
    // For the skip reason: "needs root or unprivileged user namespaces for
    // <purpose>: unshare: ...".
    std::string purpose = "a private namespace";
    std::vector<std::string> tmpfs;  // directories that get an empty tmpfs
    // In the host, after the mounts. CaseSkipped: the case is skipped.
    std::function<void()> setup;
    // In the host, once per call(); an exception fails that call.
    std::function<void(std::uint32_t request)> serve;
    // In the host, before it exits, after setup ran or threw. Must not throw.
    std::function<void()> teardown;
  };

  // Starts the host and waits up to `setup_timeout` for its setup. Throws
  // CaseSkipped if the namespaces or mounts are not permitted here (the
  // reason in it) or `setup` threw CaseSkipped, CaseFailure on any other
  // failure.
  PrivateNamespace(Hooks hooks, std::chrono::seconds setup_timeout);
  PrivateNamespace(const PrivateNamespace&) = delete;
  PrivateNamespace& operator=(const PrivateNamespace&) = delete;
  // Lets the host go (teardown runs) and reaps it; kills it if it takes
  // longer than kStopTimeout.
  ~PrivateNamespace();

  // Runs serve(request) in the host; throws CaseFailure with its error, or if
  // it takes longer than `timeout`.
  void call(std::uint32_t request, std::chrono::seconds timeout);

  static constexpr auto kStopTimeout = std::chrono::seconds(15);

 private:
  // The relay's process and our end of the socket pair to the host; stops
  // them when destroyed, so that a constructor that throws leaves nothing
  // running.
  struct Link {
    pid_t relay = -1;
    int fd = -1;
    Link() = default;
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;
    ~Link();
  };

  // Waits for the host's answer; throws as the constructor and call() say.
  void await_reply(std::chrono::seconds timeout, const char* what);
  [[nodiscard]] std::string host_gone(const char* what);

  Hooks hooks_;  // the host's copy is the one that runs
  Link link_;
};

// A daemon started by the host: its own process, stdin from /dev/null,
// stdout and stderr into `log_path`, killed (SIGKILL) if the host dies.
class Daemon {
 public:
  // argv[0] is the program's path. Throws CaseFailure if it cannot fork; a
  // failed exec shows as the daemon exiting with status 127 and the reason in
  // its log.
  Daemon(const std::vector<std::string>& argv, std::string log_path);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() { stop(); }

  // Waits until `path` exists: true. false when the daemon exited first or
  // `timeout` passed.
  [[nodiscard]] bool wait_for_path(const std::string& path, std::chrono::milliseconds timeout);
  // Not exited yet (reaps it if it has).
  [[nodiscard]] bool running();
  // SIGTERM, up to `grace` for it to exit, then SIGKILL; reaps it.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) noexcept;
  // How it ended ("running" if it has not), and the end of its log.
  [[nodiscard]] std::string describe() const;

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;  // waitpid status; -1: reaped by someone else (a Team's waitpid(-1))
  std::string name_;
  std::string log_path_;
};

// Waits up to `timeout` for child `pid` to exit and reaps it: true then, with
// its waitpid status in `status` (-1 if another waitpid had reaped it).
bool wait_for_exit(pid_t pid, int& status, std::chrono::milliseconds timeout) noexcept;

}  // namespace shmkit::bench
