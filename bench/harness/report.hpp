#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/context.hpp"

// The outcome of a run: the machine it ran on, each case's figures and ratios,
// as a terminal table and as JSON (--json).

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

// What this machine is, now (load_end is filled in later).
MachineInfo describe_machine(const RunOptions& options);
std::string read_loadavg();

void print_table(std::ostream& out, const MachineInfo& machine, const RunOptions& options,
                 const std::vector<CaseResult>& results);

nlohmann::json to_json(const MachineInfo& machine, const RunOptions& options,
                       const std::vector<CaseResult>& results);

}  // namespace shmkit::bench
