// Writes the seed corpus of header_check_fuzz into the directory argv[1]: one
// file per case of tests/layout/broken_headers.hpp, its selector byte (the
// expectation) in front of the file bytes. Fails if a case's verdict is not
// the one the corpus states, so the seeds are what their names say.

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "broken_headers.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];  // NOLINT: argv
  std::filesystem::create_directories(dir);
  int wrong = 0;
  for (const shmkit::test::BrokenCase& c : shmkit::test::broken_header_corpus()) {
    const auto check = shmkit::test::check_file(c.file, c.expect);
    if (check.verdict != c.verdict ||
        (c.verdict == shmkit::detail::HeaderVerdict::invalid && check.code != c.code)) {
      std::fprintf(stderr, "seed %s: unexpected verdict (%s)\n", c.name.c_str(),
                   check.problem.c_str());
      ++wrong;
    }
    std::ofstream out(dir / c.name, std::ios::binary);
    const auto selector = static_cast<char>(c.expect);
    out.write(&selector, 1);
    out.write(reinterpret_cast<const char*>(c.file.data()),  // NOLINT: bytes to a stream
              static_cast<std::streamsize>(c.file.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / c.name).c_str());
      return 1;
    }
  }
  return wrong == 0 ? 0 : 1;
}
