#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/context.hpp"

// The outcome of a run: the machine it ran on, each case's figures and ratios,
// and a summary of every shmkit figure against the best peer and the hardware
// floor, as a terminal table and as JSON (--json). harness/plot.hpp draws it.

namespace shmkit::bench {

enum class Status { ok, failed, skipped };

struct CaseResult {
  std::string name;
  std::string group;
  std::string description;
  Status status = Status::ok;
  std::string reason;  // why it failed or was skipped
  double seconds = 0;
  std::vector<Series> series;
  std::vector<RatioResult> ratios;
  std::vector<std::string> notes;
};

struct MachineInfo {
  std::string cpu_model;
  int online_cpus = 0;
  std::vector<int> cpus_used;
  std::string kernel;
  std::string load_start;  // /proc/loadavg's 1, 5, 15 minute averages
  std::string load_end;
  std::string ticks_source;
  double ticks_per_ns = 0;
  std::string compiler;
  std::string build_type;
  std::string date;  // UTC, ISO 8601
};

// The summary's comparison of one shmkit figure (a series of a system whose
// name starts with "shmkit", in a case that ran to the end) with the same
// metric (name and unit) elsewhere in the run. A ratio of medians across
// cases, measured at different moments: not interleaved, unlike a case's own
// ratios (Context::ratio), which are pair by pair.
struct Reference {
  std::string case_name;
  std::string system;
  double median = 0;
  std::optional<double> ratio;  // shmkit median / this median; none if this is 0
};

struct ShmkitComparison {
  std::string case_name;
  std::string system;
  Metric metric;
  double median = 0;
  // The best median (Metric::better) of the systems not named "shmkit..."
  // in the cases of group "peer", and of those in the cases of group "floor".
  std::optional<Reference> best_peer;
  std::optional<Reference> floor;
};

// Every shmkit figure of the run, in case and series order.
std::vector<ShmkitComparison> compare_shmkit(const std::vector<CaseResult>& results);

// 3 to 4 significant digits, SI suffix from 10^4 up: 0.0137, 0.72, 61.9, 1234,
// 12.3k, 4.56M.
std::string format_value(double v);

// What this machine is, now (load_end is filled in later).
MachineInfo describe_machine(const RunOptions& options);
std::string read_loadavg();

void print_table(std::ostream& out, const MachineInfo& machine, const RunOptions& options,
                 const std::vector<CaseResult>& results);

nlohmann::json to_json(const MachineInfo& machine, const RunOptions& options,
                       const std::vector<CaseResult>& results);

}  // namespace shmkit::bench
