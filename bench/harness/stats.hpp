#pragma once

#include <cstddef>
#include <vector>

// Order statistics for the harness: the summary of a figure's repetitions.

namespace shmkit::bench {

struct Summary {
  std::size_t n = 0;
  double median = 0;
  double p25 = 0;
  double p75 = 0;
  double min = 0;
  double max = 0;
};

// The q-quantile (0..1) of sorted values, linearly interpolated; 0 if empty.
double quantile_sorted(const std::vector<double>& sorted, double q) noexcept;

// Summary of `values` (any order).
Summary summarize(std::vector<double> values);

}  // namespace shmkit::bench
