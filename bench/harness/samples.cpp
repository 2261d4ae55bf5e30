#include "harness/samples.hpp"

#include <algorithm>

namespace shmkit::bench {

LatencyFigures latency_figures(std::uint32_t* data, std::size_t n, double ns_per_unit) {
  LatencyFigures f;
  f.n = n;
  if (n == 0) return f;
  // Largest quantile first: everything below the k-th is then in [0, k), so
  // each later nth_element works on that shorter prefix.
  std::uint32_t* end = data + n;
  const auto at = [&](double q) {
    const auto k = static_cast<std::size_t>(q * static_cast<double>(n - 1));
    std::nth_element(data, data + k, end);
    end = data + k + 1;
    return static_cast<double>(data[k]) * ns_per_unit;
  };
  f.p999 = at(0.999);
  f.p99 = at(0.99);
  f.p50 = at(0.5);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(data[i]);
  f.mean = sum / static_cast<double>(n) * ns_per_unit;
  return f;
}

void record_latency(Context& ctx, const std::string& system, const LatencyFigures& f) {
  if (f.n == 0) throw CaseFailure(system + ": no latency samples in a repetition");
  if (f.n < kMinLatencySamples) {
    ctx.note(system + ": some repetitions got under " + std::to_string(kMinLatencySamples) +
             " samples in 4x their duration (a busy machine?): their p99.9 is about their max");
  }
  ctx.record(system, metrics::kOneWayP50, f.p50);
  ctx.record(system, metrics::kOneWayP99, f.p99);
  ctx.record(system, metrics::kOneWayP999, f.p999);
  ctx.record(system, metrics::kOneWayMean, f.mean);
}

void record_round_trips(Context& ctx, const std::string& system, void* data, std::size_t n) {
  auto* samples = static_cast<std::uint32_t*>(data);  // SampleBuffer's array
  record_latency(ctx, system, latency_figures(samples, n, 0.5 / ticks_per_ns()));
}

}  // namespace shmkit::bench
