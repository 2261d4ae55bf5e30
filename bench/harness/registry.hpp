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
// and one line in bench/CMakeLists.txt. A case whose peer library was not
// found at build time registers with a skip reason and no run function (see
// shmkit_bench_peer() in bench/CMakeLists.txt):
//
//   #if SHMKIT_BENCH_HAVE_BOOST
//   ... the real case ...
//   #else
//   const Registration kCase{{.name = "peer.boost_mq", .group = "peer",
//                             .description = "...", .run = nullptr},
//                            SHMKIT_BENCH_MISSING_BOOST};
//   #endif
//
// A case that finds at run time that it cannot run throws CaseSkipped.

namespace shmkit::bench {

struct Case {
  std::string name;
  std::string group;
  std::string description;
  void (*run)(Context& ctx) = nullptr;
  std::string skip_reason = {};  // non-empty: not built here; reported as skipped
};

class Registration {
 public:
  // Adds `c` to the table. Two cases with one name abort at start-up.
  explicit Registration(Case c);
  // Adds `c`, to be listed and reported as skipped for `skip_reason`.
  Registration(Case c, const char* skip_reason);

 private:
  static void add(Case c);
};

// Every registered case: the floors first, then by name.
std::vector<Case> all_cases();

}  // namespace shmkit::bench
