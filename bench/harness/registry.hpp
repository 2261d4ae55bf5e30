#pragma once

#include <string>
#include <vector>

#include "harness/context.hpp"

// The table of benchmark cases. Each case is one file in bench/cases/ that
// registers itself at static-initialisation time:
//
//   namespace {
//   void run(Context& ctx) { ... ctx.interleave({...}); ctx.ratio({...}); }
//   const Registration kCase{{
//       .name = "mutex.contended",            // group.what, unique
//       .group = "mutex",
//       .description = "2 processes: lock; ++counter; unlock",
//       .run = &run,
//   }};
//   }  // namespace
//
// and one line in bench/CMakeLists.txt. A case that needs a peer library
// compiles its body only where the library was found at build time, and
// registers either way with SHMKIT_BENCH_MISSING_<ID>: the reason it was not
// found, or nullptr (shmkit_bench_peer() in bench/CMakeLists.txt). Without
// its body the case is listed and reported as skipped for that reason:
//
//   namespace {
//   #if SHMKIT_BENCH_HAVE_BOOST
//   void run(Context& ctx) { ... the real case ... }
//   #else
//   constexpr CaseRun run = nullptr;
//   #endif
//   const Registration kCase{{.name = "peer.boost_mq", ..., .run = run},
//                            SHMKIT_BENCH_MISSING_BOOST};
//   }  // namespace
//
// A case that finds at run time that it cannot run throws CaseSkipped.

namespace shmkit::bench {

using CaseRun = void (*)(Context& ctx);

struct Case {
  std::string name;
  std::string group;
  std::string description;
  CaseRun run = nullptr;
  std::string skip_reason = {};  // non-empty: not built here; reported as skipped
};

class Registration {
 public:
  // Adds `c` to the table. Two cases with one name abort at start-up.
  explicit Registration(Case c);
  // Adds `c`, to be listed and reported as skipped for `skip_reason`; as it
  // is if `skip_reason` is nullptr (its peer was found).
  Registration(Case c, const char* skip_reason);

 private:
  static void add(Case c);
};

// Every registered case: the floors first, then by name.
std::vector<Case> all_cases();

}  // namespace shmkit::bench
