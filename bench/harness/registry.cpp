#include "harness/registry.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace shmkit::bench {
namespace {

// A function-local static: registrations run during static initialisation,
// in an order between files that nothing defines.
std::vector<Case>& table() {
  static std::vector<Case> cases;
  return cases;
}

}  // namespace

Registration::Registration(Case c) { add(std::move(c)); }

void Registration::add(Case c) {
  for (const Case& existing : table()) {
    if (existing.name == c.name) {
      std::fprintf(stderr, "shmkit-bench: two cases are named '%s'\n", c.name.c_str());
      std::abort();
    }
  }
  table().push_back(std::move(c));
}

Registration::Registration(Case c, const char* skip_reason) {
  if (skip_reason != nullptr) {
    c.skip_reason = skip_reason;
    c.run = nullptr;
  }
  add(std::move(c));
}

std::vector<Case> all_cases() {
  std::vector<Case> cases = table();
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) {
    const bool fa = a.group == "floor";
    const bool fb = b.group == "floor";
    if (fa != fb) return fa;
    return a.name < b.name;
  });
  return cases;
}

}  // namespace shmkit::bench
