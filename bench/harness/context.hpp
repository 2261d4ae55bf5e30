#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/stats.hpp"

// Context: what a case sees while it runs (its options, the CPUs for its
// processes, the progress line) and where it records its figures.
//
// A figure is one metric of one system ("shmkit", "pthread", "hardware"...),
// with one value per repetition. A ratio compares one metric of two systems
// that ran interleaved (Context::interleave): value i of the numerator over
// value i of the denominator, pair by pair, then the median of those pair
// ratios. Pairs matter because these machines change speed from one second to
// the next (the cross-core latency jumps between about 60 and 200+ ns): two
// repetitions run back to back see the same machine; two medians may not.
//
// Used from the main process only; children report through shared memory.

namespace shmkit::bench {

enum class Better { lower, higher };

struct Metric {
  std::string name;  // "one-way p50"
  std::string unit;  // "ns"
  Better better = Better::lower;
};

// Metric names shared by cases, so that figures line up across cases and a
// later case can take ratios to a floor or a peer.
namespace metrics {
inline const Metric kOneWayP50{"one-way p50", "ns", Better::lower};
inline const Metric kOneWayP99{"one-way p99", "ns", Better::lower};
inline const Metric kOneWayP999{"one-way p99.9", "ns", Better::lower};
inline const Metric kOneWayMean{"one-way mean", "ns", Better::lower};
inline const Metric kMsgs64{"64 B msgs/s", "msg/s", Better::higher};
}  // namespace metrics

// A case failed a check (a lost or reordered message, a wrong count), or could
// not run its processes: the case fails loudly and the run exits non-zero.
class CaseFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A case cannot run here (a peer missing at build time, a kernel feature
// absent): listed as skipped with the reason; not a failure.
class CaseSkipped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunOptions {
  bool quick = false;
  int repetitions = 11;
  // Measured time of one repetition of one system (warm-up not included).
  std::chrono::milliseconds duration{250};
  // CPUs for process roles 0, 1, 2... (cycled when there are fewer CPUs).
  std::vector<int> cpus;
  // A repetition whose processes have not all exited by then is killed and
  // its case fails.
  std::chrono::seconds watchdog{60};
};

// One metric of one system, one value per repetition in the order run.
struct Series {
  std::string system;
  Metric metric;
  std::vector<double> values;
};

// numerator / denominator for one metric, and the goal it is held to (shown,
// never enforced: benchmarks do not gate anything).
struct RatioSpec {
  std::string metric;
  std::string numerator;
  std::string denominator;
  std::optional<double> goal_at_most = std::nullopt;
  std::optional<double> goal_at_least = std::nullopt;
  std::string goal_source = {};  // "issue 3"
};

struct RatioResult {
  RatioSpec spec;
  std::vector<double> values;  // pair by pair
  Summary summary;
  // Goal met? nullopt when there is no goal.
  [[nodiscard]] std::optional<bool> goal_met() const;
};

class Context;

// A system of an interleaved comparison: `run` does one repetition and
// records that repetition's figures under `system`.
struct Variant {
  std::string system;
  std::function<void(Context& ctx, const std::string& system)> run;
};

// The terminal's progress line (stderr): rewritten in place on a terminal,
// one line per finished case otherwise.
class Progress {
 public:
  explicit Progress(bool interactive) : interactive_(interactive) {}
  void start_case(std::size_t index, std::size_t total, const std::string& name);
  void update(const std::string& text);
  void finish_case(const std::string& outcome, double seconds);

 private:
  bool interactive_;
  std::string prefix_;
  std::chrono::steady_clock::time_point case_start_;
};

class Context {
 public:
  Context(const RunOptions& options, Progress& progress) : options_(options), progress_(progress) {}

  [[nodiscard]] const RunOptions& options() const noexcept { return options_; }
  [[nodiscard]] bool quick() const noexcept { return options_.quick; }
  [[nodiscard]] int repetitions() const noexcept { return options_.repetitions; }
  [[nodiscard]] std::chrono::milliseconds duration() const noexcept { return options_.duration; }
  // The CPU that process role `role` is pinned to.
  [[nodiscard]] int cpu(int role) const noexcept;
  // True when roles 0 and 1 share a CPU (a 1-CPU machine): a spinning process
  // must yield, or its peer never runs.
  [[nodiscard]] bool shared_core() const noexcept { return options_.cpus.size() < 2; }
  // Bytes by which the processes of this repetition move their stacks down
  // before they run (Team): repetition r by 64 * (23 r mod 64), so that the
  // repetitions of a run sample the page offsets of the stack instead of all
  // having the one that ASLR drew for the run. A stream's speed can depend
  // on it (4 KiB aliasing between stack lines and shared words:
  // docs/BENCHMARKS.md). The systems of one interleaved pair share it.
  [[nodiscard]] std::size_t stack_shift() const noexcept {
    return std::size_t{64} * static_cast<std::size_t>((23 * repetition_) % 64);
  }

  void progress(const std::string& text) { progress_.update(text); }
  void record(const std::string& system, const Metric& metric, double value);
  void ratio(RatioSpec spec);
  void note(std::string text);

  // Runs each variant repetitions() times, interleaved: for two systems
  // A B, B A, A B, ... (the order alternates so that a drift in the machine's
  // speed favours neither), for more, the order rotates.
  void interleave(const std::vector<Variant>& variants);
  // One system, repetitions() times.
  void repeat(const Variant& variant) { interleave({variant}); }

  [[nodiscard]] const std::vector<Series>& series() const noexcept { return series_; }
  [[nodiscard]] const std::vector<std::string>& notes() const noexcept { return notes_; }
  // The declared ratios, computed pair by pair. Throws CaseFailure if a ratio
  // names a figure that was not recorded.
  [[nodiscard]] std::vector<RatioResult> ratio_results() const;

 private:
  const Series* find(const std::string& system, const std::string& metric) const noexcept;

  RunOptions options_;
  Progress& progress_;
  std::vector<Series> series_;
  std::vector<RatioSpec> ratios_;
  std::vector<std::string> notes_;
  int repetition_ = 0;  // of interleave(), under way
};

}  // namespace shmkit::bench
