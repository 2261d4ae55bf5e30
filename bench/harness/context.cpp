#include "harness/context.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace shmkit::bench {

std::optional<bool> RatioResult::goal_met() const {
  if (!spec.goal_at_most && !spec.goal_at_least) return std::nullopt;
  if (summary.n == 0) return false;
  if (spec.goal_at_most && summary.median > *spec.goal_at_most) return false;
  if (spec.goal_at_least && summary.median < *spec.goal_at_least) return false;
  return true;
}

void Progress::start_case(std::size_t index, std::size_t total, const std::string& name) {
  prefix_ = "[" + std::to_string(index + 1) + "/" + std::to_string(total) + "] " + name;
  case_start_ = std::chrono::steady_clock::now();
  if (interactive_) std::cerr << "\r\033[K" << prefix_ << std::flush;
}

void Progress::update(const std::string& text) {
  if (!interactive_) return;
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - case_start_).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1fs", s);
  std::cerr << "\r\033[K" << prefix_ << ": " << text << "  (" << elapsed << ")" << std::flush;
}

void Progress::finish_case(const std::string& outcome, double seconds) {
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1fs", seconds);
  if (interactive_) std::cerr << "\r\033[K";
  std::cerr << prefix_ << ": " << outcome << " (" << elapsed << ")\n" << std::flush;
}

int Context::cpu(int role) const noexcept {
  if (options_.cpus.empty()) return -1;
  return options_.cpus[static_cast<std::size_t>(role) % options_.cpus.size()];
}

void Context::record(const std::string& system, const Metric& metric, double value) {
  for (Series& s : series_) {
    if (s.system == system && s.metric.name == metric.name) {
      s.values.push_back(value);
      return;
    }
  }
  series_.push_back(Series{system, metric, {value}});
}

void Context::ratio(RatioSpec spec) { ratios_.push_back(std::move(spec)); }

void Context::note(std::string text) {
  for (const std::string& n : notes_) {
    if (n == text) return;
  }
  notes_.push_back(std::move(text));
}

void Context::interleave(const std::vector<Variant>& variants) {
  const int reps = repetitions();
  const std::size_t k = variants.size();
  for (int rep = 0; rep < reps; ++rep) {
    repetition_ = rep;
    for (std::size_t j = 0; j < k; ++j) {
      // Two systems: A B, B A, A B... More: rotate by one each repetition.
      std::size_t index = (j + static_cast<std::size_t>(rep)) % k;
      if (k == 2) index = (rep % 2 == 0) ? j : 1 - j;
      const Variant& v = variants[index];
      progress("rep " + std::to_string(rep + 1) + "/" + std::to_string(reps) + " " + v.system);
      v.run(*this, v.system);
    }
  }
}

const Series* Context::find(const std::string& system, const std::string& metric) const noexcept {
  for (const Series& s : series_) {
    if (s.system == system && s.metric.name == metric) return &s;
  }
  return nullptr;
}

std::vector<RatioResult> Context::ratio_results() const {
  std::vector<RatioResult> out;
  for (const RatioSpec& spec : ratios_) {
    const Series* num = find(spec.numerator, spec.metric);
    const Series* den = find(spec.denominator, spec.metric);
    if (num == nullptr || den == nullptr) {
      throw CaseFailure("ratio " + spec.numerator + "/" + spec.denominator + " of '" + spec.metric +
                        "': a figure was not recorded");
    }
    RatioResult r{spec, {}, {}};
    const std::size_t n = std::min(num->values.size(), den->values.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (den->values[i] != 0) r.values.push_back(num->values[i] / den->values[i]);
    }
    r.summary = summarize(r.values);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace shmkit::bench
