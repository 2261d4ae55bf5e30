// reader: prints each item of the shared list as it arrives, asleep in the
// kernel between items (no polling). Waits up to 30 s for the writer to
// create the list.
#include <chrono>
#include <iostream>
#include <string>

#include <shmkit/list.hpp>

int main() {
  using namespace std::chrono_literals;
  try {
    auto list = shmkit::List<std::string>::open_waiting("example-list", 30s);

    // wait_for_size sleeps until item i exists; it returns false when the
    // writer closed the list and everything was read, or after 30 s of silence.
    for (std::uint64_t i = 0; list.wait_for_size(i + 1, 30s); ++i) {
      std::cout << "Reader read: " << list[i] << std::endl;
    }
    shmkit::List<std::string>::remove("example-list");
    return 0;
  } catch (const shmkit::Error& e) {
    std::cerr << "reader: " << e.what() << '\n';
    return 1;
  }
}
