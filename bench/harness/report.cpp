#include "harness/report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <ostream>
#include <utility>

#include "harness/clock.hpp"

#ifndef SHMKIT_VERSION
#error "SHMKIT_VERSION must be defined by the build"
#endif

namespace shmkit::bench {
namespace {

std::string first_line_of(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string pad(std::string s, std::size_t width, bool right = false) {
  if (s.size() >= width) return s + " ";
  const std::string fill(width - s.size(), ' ');
  return right ? fill + s : s + fill;
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string s;
  for (const int c : cpus) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s.empty() ? "-" : s;
}

void print_row(std::ostream& out, const std::string& system, const std::string& metric,
               const Summary& s, const std::string& unit, const std::string& tail) {
  out << "  " << pad(system, 16) << pad(metric, 16) << pad(format_value(s.median), 9, true) << ' '
      << pad(unit, 7) << pad("[" + format_value(s.min) + " .. " + format_value(s.max) + "]", 22)
      << tail << '\n';
}

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::failed: return "failed";
    case Status::skipped: return "skipped";
  }
  return "?";
}

nlohmann::json summary_json(const Summary& s) {
  return {{"n", s.n},     {"median", s.median}, {"p25", s.p25},
          {"p75", s.p75}, {"min", s.min},       {"max", s.max}};
}

// The summary's one line of method, in the table and the JSON alike.
constexpr const char* kSummaryMethod =
    "ratio of medians across cases (not interleaved): each shmkit figure's median over the "
    "best median of the same metric among the peers (group peer) and the floors (group floor)";

bool is_shmkit(const std::string& system) { return system.rfind("shmkit", 0) == 0; }

bool same_metric(const Metric& a, const Metric& b) { return a.name == b.name && a.unit == b.unit; }

// The best median of `metric` among the systems not named "shmkit..." of the
// cases of `group` that ran to the end (a failed case's figures are partial).
std::optional<Reference> best_of_group(const std::vector<CaseResult>& results,
                                       const std::string& group, const Metric& metric) {
  std::optional<Reference> best;
  for (const CaseResult& r : results) {
    if (r.status != Status::ok || r.group != group) continue;
    for (const Series& s : r.series) {
      if (is_shmkit(s.system) || s.values.empty() || !same_metric(s.metric, metric)) continue;
      const double median = summarize(s.values).median;
      const bool better =
          !best || (metric.better == Better::lower ? median < best->median : median > best->median);
      if (better) best = Reference{r.name, s.system, median, std::nullopt};
    }
  }
  return best;
}

void set_ratio(std::optional<Reference>& ref, double median) {
  if (ref && ref->median != 0) ref->ratio = median / ref->median;
}

std::string ratio_text(const std::optional<Reference>& ref) {
  return ref && ref->ratio ? format_value(*ref->ratio) : "-";
}

// The references of the summary, one line each per metric: which peer and
// which floor the shmkit figures are divided by.
void print_references(std::ostream& out, const std::vector<ShmkitComparison>& rows,
                      std::size_t width) {
  std::vector<std::string> seen;
  for (const ShmkitComparison& c : rows) {
    const std::string key = c.metric.name + '\n' + c.metric.unit;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    for (const auto& [label, ref] :
         {std::pair{"best peer", &c.best_peer}, std::pair{"floor", &c.floor}}) {
      if (!*ref) continue;
      out << "  " << pad(label, width) << pad(c.metric.name, 16)
          << pad(format_value((*ref)->median), 9, true) << ' ' << pad(c.metric.unit, 7)
          << (*ref)->case_name << " / " << (*ref)->system << '\n';
    }
  }
}

void print_summary(std::ostream& out, const std::vector<CaseResult>& results) {
  std::vector<ShmkitComparison> rows;
  std::size_t alone = 0;  // shmkit figures with neither a peer nor a floor to compare
  std::size_t width = std::string("shmkit figure").size();
  for (ShmkitComparison& c : compare_shmkit(results)) {
    if (!c.best_peer && !c.floor) {
      ++alone;
      continue;
    }
    width = std::max(width, c.case_name.size() + 3 + c.system.size());
    rows.push_back(std::move(c));
  }
  width += 2;
  out << "\nsummary: each shmkit figure over the best peer and the best floor of the same metric\n"
         "(ratio of medians across cases, not interleaved; the cases' ratios above are pair by "
         "pair)\n";
  if (rows.empty()) {
    out << (alone == 0 ? "  no shmkit figure in this run\n"
                       : "  no shmkit figure has a peer or floor figure of the same metric in "
                         "this run\n");
    return;
  }
  out << "  " << pad("shmkit figure", width) << pad("metric", 16) << pad("median", 9, true) << ' '
      << pad("unit", 7) << pad("/ best peer", 12, true) << pad("/ floor", 10, true) << '\n';
  for (const ShmkitComparison& c : rows) {
    out << "  " << pad(c.case_name + " / " + c.system, width) << pad(c.metric.name, 16)
        << pad(format_value(c.median), 9, true) << ' ' << pad(c.metric.unit, 7)
        << pad(ratio_text(c.best_peer), 12, true) << pad(ratio_text(c.floor), 10, true) << '\n';
  }
  print_references(out, rows, width);
  if (alone > 0) {
    out << "  (" << alone << " other shmkit figure" << (alone == 1 ? " has" : "s have")
        << " no peer or floor figure of the same metric)\n";
  }
}

nlohmann::json reference_json(const std::optional<Reference>& ref) {
  if (!ref) return nullptr;
  return {{"case", ref->case_name},
          {"system", ref->system},
          {"median", ref->median},
          {"ratio", ref->ratio ? nlohmann::json(*ref->ratio) : nlohmann::json(nullptr)}};
}

nlohmann::json shmkit_summary_json(const std::vector<CaseResult>& results) {
  nlohmann::json figures = nlohmann::json::array();
  for (const ShmkitComparison& c : compare_shmkit(results)) {
    figures.push_back({{"case", c.case_name},
                       {"system", c.system},
                       {"metric", c.metric.name},
                       {"unit", c.metric.unit},
                       {"better", c.metric.better == Better::lower ? "lower" : "higher"},
                       {"median", c.median},
                       {"best_peer", reference_json(c.best_peer)},
                       {"floor", reference_json(c.floor)}});
  }
  return {{"method", kSummaryMethod}, {"figures", figures}};
}

}  // namespace

std::string format_value(double v) {
  char buffer[32];
  const double a = std::fabs(v);
  if (a >= 1e9) {
    std::snprintf(buffer, sizeof buffer, "%.2fG", v / 1e9);
  } else if (a >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.2fM", v / 1e6);
  } else if (a >= 1e4) {
    std::snprintf(buffer, sizeof buffer, "%.1fk", v / 1e3);
  } else if (a >= 100) {
    std::snprintf(buffer, sizeof buffer, "%.0f", v);
  } else if (a >= 10) {
    std::snprintf(buffer, sizeof buffer, "%.1f", v);
  } else if (a >= 0.1 || a == 0) {
    std::snprintf(buffer, sizeof buffer, "%.2f", v);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.3g", v);
  }
  return buffer;
}

std::vector<ShmkitComparison> compare_shmkit(const std::vector<CaseResult>& results) {
  std::vector<ShmkitComparison> out;
  for (const CaseResult& r : results) {
    if (r.status != Status::ok) continue;
    for (const Series& s : r.series) {
      if (!is_shmkit(s.system) || s.values.empty()) continue;
      ShmkitComparison c{r.name,
                         s.system,
                         s.metric,
                         summarize(s.values).median,
                         best_of_group(results, "peer", s.metric),
                         best_of_group(results, "floor", s.metric)};
      set_ratio(c.best_peer, c.median);
      set_ratio(c.floor, c.median);
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::string read_loadavg() {
  const std::string line = first_line_of("/proc/loadavg");
  // "0.52 0.58 0.59 1/123 4567": the three averages.
  std::size_t end = 0;
  for (int fields = 0; fields < 3 && end != std::string::npos; ++fields) {
    end = line.find(' ', end == 0 ? 0 : end + 1);
  }
  return end == std::string::npos ? line : line.substr(0, end);
}

MachineInfo describe_machine(const RunOptions& options) {
  MachineInfo m;
  m.cpu_model = cpu_model();
  m.online_cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  m.cpus_used = options.cpus;
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m.load_start = read_loadavg();
  m.ticks_source = ticks_source();
  m.ticks_per_ns = ticks_per_ns();
  m.compiler = SHMKIT_BENCH_COMPILER;
  m.build_type = SHMKIT_BENCH_BUILD_TYPE;
  m.date = utc_now();
  return m;
}

void print_table(std::ostream& out, const MachineInfo& m, const RunOptions& options,
                 const std::vector<CaseResult>& results) {
  out << "shmkit-bench " << SHMKIT_VERSION << "  " << m.date << "\n"
      << "machine: " << m.cpu_model << ", " << m.online_cpus << " CPUs online, pinned to "
      << cpu_list(m.cpus_used) << "; " << m.kernel << "\n"
      << "load average (1/5/15 min): " << m.load_start << " at start, " << m.load_end
      << " at end; build " << m.build_type << ", " << m.compiler << "\n"
      << "each figure: median [min .. max] of " << options.repetitions << " repetitions of "
      << options.duration.count() << " ms" << (options.quick ? " (--quick)" : "")
      << "; a ratio is the median of pair-by-pair ratios of interleaved repetitions\n";
  if (options.cpus.size() < 2) {
    out << "WARNING: one CPU: the processes of a case share it; latencies are scheduler "
           "time slices, not the hardware\n";
  }
  for (const CaseResult& r : results) {
    out << "\n" << r.name << "  (" << r.description << ")";
    if (r.status != Status::ok) {
      out << "\n  " << (r.status == Status::failed ? "FAILED: " : "skipped: ") << r.reason << "\n";
      if (r.status == Status::skipped) continue;
    } else {
      out << "\n";
    }
    for (const Series& s : r.series) {
      print_row(out, s.system, s.metric.name, summarize(s.values), s.metric.unit, "");
    }
    for (const RatioResult& q : r.ratios) {
      std::string tail;
      if (const auto met = q.goal_met()) {
        char goal[64];
        if (q.spec.goal_at_most) {
          std::snprintf(goal, sizeof goal, "goal <= %.2f", *q.spec.goal_at_most);
        } else {
          std::snprintf(goal, sizeof goal, "goal >= %.2f", q.spec.goal_at_least.value_or(0));
        }
        tail = std::string(goal) +
               (q.spec.goal_source.empty() ? "" : " (" + q.spec.goal_source + ")") + ": " +
               (*met ? "met" : "MISSED");
      }
      print_row(out, q.spec.numerator + "/" + q.spec.denominator, q.spec.metric, q.summary, "x",
                tail);
    }
    for (const std::string& n : r.notes) out << "  note: " << n << '\n';
  }
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::size_t skipped = 0;
  for (const CaseResult& r : results) {
    if (r.status == Status::ok) ++ok;
    if (r.status == Status::failed) ++failed;
    if (r.status == Status::skipped) ++skipped;
  }
  print_summary(out, results);
  out << "\ncases: " << ok << " ok, " << failed << " failed, " << skipped << " skipped\n";
}

nlohmann::json to_json(const MachineInfo& m, const RunOptions& options,
                       const std::vector<CaseResult>& results) {
  nlohmann::json cases = nlohmann::json::array();
  for (const CaseResult& r : results) {
    nlohmann::json figures = nlohmann::json::array();
    for (const Series& s : r.series) {
      figures.push_back({{"system", s.system},
                         {"metric", s.metric.name},
                         {"unit", s.metric.unit},
                         {"better", s.metric.better == Better::lower ? "lower" : "higher"},
                         {"values", s.values},
                         {"summary", summary_json(summarize(s.values))}});
    }
    nlohmann::json ratios = nlohmann::json::array();
    for (const RatioResult& q : r.ratios) {
      nlohmann::json j = {{"metric", q.spec.metric},
                          {"numerator", q.spec.numerator},
                          {"denominator", q.spec.denominator},
                          {"values", q.values},
                          {"summary", summary_json(q.summary)}};
      if (const auto met = q.goal_met()) {
        nlohmann::json goal = {{"met", *met}, {"source", q.spec.goal_source}};
        if (q.spec.goal_at_most) goal["at_most"] = *q.spec.goal_at_most;
        if (q.spec.goal_at_least) goal["at_least"] = *q.spec.goal_at_least;
        j["goal"] = goal;
      }
      ratios.push_back(j);
    }
    cases.push_back({{"name", r.name},
                     {"group", r.group},
                     {"description", r.description},
                     {"status", status_name(r.status)},
                     {"reason", r.reason},
                     {"seconds", r.seconds},
                     {"figures", figures},
                     {"ratios", ratios},
                     {"notes", r.notes}});
  }
  return {{"tool", "shmkit-bench"},
          {"version", SHMKIT_VERSION},
          {"date", m.date},
          {"machine",
           {{"cpu_model", m.cpu_model},
            {"online_cpus", m.online_cpus},
            {"cpus_used", m.cpus_used},
            {"kernel", m.kernel},
            {"load_start", m.load_start},
            {"load_end", m.load_end},
            {"ticks_source", m.ticks_source},
            {"ticks_per_ns", m.ticks_per_ns},
            {"compiler", m.compiler},
            {"build_type", m.build_type}}},
          {"options",
           {{"quick", options.quick},
            {"repetitions", options.repetitions},
            {"duration_ms", options.duration.count()},
            {"cpus", options.cpus}}},
          {"cases", cases},
          {"summary", shmkit_summary_json(results)}};
}

}  // namespace shmkit::bench
