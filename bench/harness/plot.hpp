#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "harness/report.hpp"

// The run as a chart (--plot FILE.svg): hand-written SVG 1.1, no dependency.
//
// One panel per metric (name and unit), in the order the run first recorded
// them. In a panel, one row per figure of a case that ran to the end, labelled
// "case / system" (shmkit appears in many cases), best first: a bar to the
// median, a thick line over p25..p75 and a thin one over min..max of the
// repetitions, and the numbers at the right. The axis is logarithmic (decades)
// where the panel's values span 10x or more, linear from 0 otherwise. The
// title carries the machine (CPU, kernel) and the date. Colours: shmkit
// systems, the systems of the floor cases, every other system.

namespace shmkit::bench {

// True if `path` names an .svg file (the one format --plot writes).
bool is_svg_path(const std::string& path);

void write_svg(std::ostream& out, const MachineInfo& machine, const RunOptions& options,
               const std::vector<CaseResult>& results);

}  // namespace shmkit::bench
