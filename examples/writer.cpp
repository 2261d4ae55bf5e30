// writer: appends "0".."4" to a shared list, one per second, then closes it.
// Start it and `reader` in two terminals, in either order:
//   build/default/bin/writer        build/default/bin/reader
#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include <shmkit/list.hpp>

int main() {
  try {
    // The list lives in /dev/shm/shmkit.example-list. Remove a stale one left
    // by an earlier, interrupted run, then create it (mode 0600).
    shmkit::List<std::string>::remove("example-list");
    auto list = shmkit::List<std::string>::create("example-list");

    for (int i = 0; i < 5; ++i) {
      std::cout << "Writer added: " << i << std::endl;
      list.append(std::to_string(i));  // the reader wakes up at once
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    list.close();  // tells the reader nothing more is coming
    // The list stays until removed: the reader may still be reading. It
    // removes it when done (or run `shmkit rm example-list`).
    return 0;
  } catch (const shmkit::Error& e) {
    std::cerr << "writer: " << e.what() << '\n';
    return 1;
  }
}
