// Builds against an installed shmkit: creates a named block, writes through
// one handle, reads through another, removes it. Exit 0 on success.
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>

#include <shmkit/shmkit.hpp>

int main() {
  const std::string name = "t" + std::to_string(::getpid()) + "-package-consumer";
  try {
    auto writer = shmkit::SharedMemory::create(name, 64);
    std::memcpy(writer.data(), "hello", 6);
    const auto reader = shmkit::SharedMemory::open(name);
    const bool same = std::strcmp(reinterpret_cast<const char*>(reader.data()), "hello") == 0;
    shmkit::SharedMemory::remove(name);
    if (!same) {
      std::cerr << "consumer: read back something else\n";
      return 1;
    }
    std::cout << "consumer: ok\n";
    return 0;
  } catch (const shmkit::Error& e) {
    shmkit::SharedMemory::remove(name);
    std::cerr << "consumer: " << e.what() << '\n';
    return 1;
  }
}
