#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "harness/clock.hpp"
#include "harness/context.hpp"
#include "harness/plot.hpp"
#include "harness/registry.hpp"
#include "harness/report.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"

// shmkit-bench: runs the registered cases (bench/cases/), each in separate
// pinned processes, prints a progress line on stderr, then a table on stdout,
// and optionally writes JSON and an SVG chart. Exit codes: 0 every case ran
// (or was skipped), 1 a case failed (a verification, a crash, a hang) or an
// output file could not be written, 2 usage error.

namespace shmkit::bench {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// The usable CPUs, ordered so that the first ones are on distinct physical
// cores (not SMT siblings of each other), as far as sysfs says.
std::vector<int> default_cpus() {
  const std::vector<int> usable = usable_cpus();
  std::vector<int> first;
  std::vector<int> rest;
  std::set<std::pair<std::string, std::string>> cores_seen;
  for (const int cpu : usable) {
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::string package;
    std::string core;
    std::ifstream(base + "physical_package_id") >> package;
    std::ifstream(base + "core_id") >> core;
    if (core.empty() || cores_seen.insert({package, core}).second) {
      first.push_back(cpu);
    } else {
      rest.push_back(cpu);
    }
  }
  first.insert(first.end(), rest.begin(), rest.end());
  return first;
}

std::vector<int> parse_cpus(const std::string& text) {
  std::vector<int> cpus;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    const int cpu = std::stoi(item, &used);
    if (used != item.size() || cpu < 0) throw std::invalid_argument(item);
    cpus.push_back(cpu);
  }
  if (cpus.empty()) throw std::invalid_argument(text);
  return cpus;
}

// Writes FILE with `fill`; false, and a message, if it cannot.
bool write_file(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  std::ofstream out(path);
  if (out) fill(out);
  out.close();
  if (!out) {
    std::cerr << "shmkit-bench: cannot write " << path << '\n';
    return false;
  }
  return true;
}

CaseResult run_case(const Case& c, const RunOptions& options, Progress& progress) {
  CaseResult result{c.name, c.group, c.description, Status::ok, {}, 0, {}, {}, {}};
  const auto start = std::chrono::steady_clock::now();
  Context ctx(options, progress);
  try {
    if (!c.skip_reason.empty() || c.run == nullptr) {
      throw CaseSkipped(c.skip_reason.empty() ? "no run function" : c.skip_reason);
    }
    c.run(ctx);
    result.ratios = ctx.ratio_results();
  } catch (const CaseSkipped& e) {
    result.status = Status::skipped;
    result.reason = e.what();
  } catch (const std::exception& e) {
    // CaseFailure, or a shmkit::Error from setting up (e.g. /dev/shm full).
    result.status = Status::failed;
    result.reason = e.what();
  }
  result.series = ctx.series();
  result.notes = ctx.notes();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

int run(int argc, char** argv) {
  CLI::App app(
      "Measures shmkit beside its peers and the hardware floor, each case in separate "
      "processes pinned to different CPUs. Progress on stderr; on stdout a table: each case's "
      "figures (median [min .. max] of the repetitions) and its ratios (pair by pair, "
      "interleaved), then a summary of each shmkit figure over the best peer and the floor of "
      "the same metric (a ratio of medians across cases, not interleaved).",
      "shmkit-bench");
  bool quick = false;
  bool list = false;
  std::vector<std::string> selected;
  std::string json_path;
  std::string plot_path;
  int reps = 0;
  int duration_ms = 0;
  std::string cpus_text;
  app.add_flag("--quick", quick,
               "Fewer, shorter repetitions: 5 of 60 ms, unless --reps or --duration-ms say "
               "otherwise");
  app.add_option("--case", selected,
                 "Run only this case, or every case of this group "
                 "(repeatable; see --list)")
      ->type_name("NAME");
  app.add_flag("--list", list, "List the cases and exit");
  app.add_option("--json", json_path,
                 "Also write the results as JSON to FILE: the machine, the options, each case's "
                 "status, figures (every repetition's value) and ratios, and the summary")
      ->type_name("FILE");
  app.add_option("--plot", plot_path,
                 "Also draw the results as an SVG chart to FILE.svg (no other format): a panel per "
                 "metric, a bar per 'case / system' at its median with p25..p75 and min..max "
                 "of the repetitions, best first, on a log scale where a panel spans 10x or "
                 "more; titled with the CPU, kernel and date")
      ->type_name("FILE.svg");
  app.add_option("--reps", reps, "Repetitions of each system of a case (default 11, --quick 5)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--duration-ms", duration_ms,
                 "Measured time of one repetition of one system, warm-up not included "
                 "(default 250, --quick 60)")
      ->check(CLI::Range(1, 60000));
  app.add_option("--cpus", cpus_text,
                 "CPUs for the processes of a case, in role order, reused in turn when a case "
                 "has more processes (default: the usable CPUs, distinct cores first)")
      ->type_name("LIST");
  app.footer(
      "Exit codes: 0 every case ran or was skipped; 1 a case failed (a lost or reordered "
      "message, a wrong count, a crash, a hang) or the --json or --plot file could not be "
      "written; 2 usage error.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "shmkit-bench: " << e.what() << "\nRun 'shmkit-bench --help' for usage.\n";
    return kExitUsage;
  }

  if (!plot_path.empty() && !is_svg_path(plot_path)) {
    std::cerr << "shmkit-bench: --plot writes SVG only: '" << plot_path
              << "' does not end in .svg\nRun 'shmkit-bench --help' for usage.\n";
    return kExitUsage;
  }

  const std::vector<Case> cases = all_cases();
  if (list) {
    for (const Case& c : cases) {
      std::cout << c.name << "  " << c.description
                << (c.skip_reason.empty() ? "" : "  [skipped: " + c.skip_reason + "]") << '\n';
    }
    return 0;
  }

  std::vector<Case> chosen;
  for (const Case& c : cases) {
    const bool wanted = selected.empty() ||
                        std::find_if(selected.begin(), selected.end(), [&](const std::string& s) {
                          return s == c.name || s == c.group;
                        }) != selected.end();
    if (wanted) chosen.push_back(c);
  }
  for (const std::string& s : selected) {
    const bool known = std::any_of(cases.begin(), cases.end(),
                                   [&](const Case& c) { return s == c.name || s == c.group; });
    if (!known) {
      std::cerr << "shmkit-bench: no case or group named '" << s << "' (see shmkit-bench --list)\n";
      return kExitUsage;
    }
  }

  RunOptions options;
  options.quick = quick;
  options.repetitions = reps > 0 ? reps : (quick ? 5 : 11);
  options.duration = std::chrono::milliseconds(duration_ms > 0 ? duration_ms : (quick ? 60 : 250));
  // Longer than any repetition can take (TimeBox ends one at 4x its duration).
  options.watchdog = std::chrono::seconds(60) +
                     std::chrono::duration_cast<std::chrono::seconds>(10 * options.duration);
  try {
    options.cpus = cpus_text.empty() ? default_cpus() : parse_cpus(cpus_text);
  } catch (const std::exception&) {
    std::cerr << "shmkit-bench: --cpus wants a comma-separated list of CPU numbers, got '"
              << cpus_text << "'\n";
    return kExitUsage;
  }

  calibrate_ticks();
  install_cleanup_handlers();
  install_watchdog();
  MachineInfo machine = describe_machine(options);

  Progress progress(::isatty(STDERR_FILENO) != 0);
  std::vector<CaseResult> results;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    progress.start_case(i, chosen.size(), chosen[i].name);
    results.push_back(run_case(chosen[i], options, progress));
    const CaseResult& r = results.back();
    progress.finish_case(r.status == Status::ok       ? "ok"
                         : r.status == Status::failed ? "FAILED: " + r.reason
                                                      : "skipped: " + r.reason,
                         r.seconds);
  }
  machine.load_end = read_loadavg();

  print_table(std::cout, machine, options, results);
  bool written = true;
  if (!json_path.empty()) {
    written &= write_file(json_path, [&](std::ostream& out) {
      out << to_json(machine, options, results).dump(2) << '\n';
    });
  }
  if (!plot_path.empty()) {
    written &= write_file(plot_path,
                          [&](std::ostream& out) { write_svg(out, machine, options, results); });
  }
  if (!written) return kExitFailed;
  const bool any_failed = std::any_of(results.begin(), results.end(), [](const CaseResult& r) {
    return r.status == Status::failed;
  });
  return any_failed ? kExitFailed : 0;
}

}  // namespace
}  // namespace shmkit::bench

int main(int argc, char** argv) {
  try {
    return shmkit::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "shmkit-bench: " << e.what() << '\n';
    return 1;
  }
}
