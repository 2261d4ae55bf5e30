// queue_workers: multiprocessing's task queue and result queue. Four worker
// processes take numbers from one queue and put their squares on another;
// the parent queues 1..1000, closes the task queue (each worker's pop then
// returns `closed` once it is drained), and adds up the results.
//
//   queue_workers [NAME]     (NAME prefixes the two queues' names)
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <shmkit/process.hpp>
#include <shmkit/queue.hpp>

namespace {

constexpr std::int64_t kTasks = 1000;
constexpr int kWorkers = 4;

void work(const std::string& tasks_name, const std::string& results_name) {
  auto tasks = shmkit::Queue<std::int64_t>::open(tasks_name);
  auto results = shmkit::Queue<std::int64_t>::open(results_name);
  std::int64_t n = 0;
  while (tasks.pop(n) == shmkit::QueueStatus::ok) (void)results.push(n * n);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "example-workers";
  const std::string tasks_name = name + "-tasks";
  const std::string results_name = name + "-results";
  using namespace std::chrono_literals;
  try {
    // In /dev/shm/shmkit.NAME-tasks and -results. Remove stale ones left by
    // an earlier, interrupted run, then create them (mode 0600).
    shmkit::Queue<std::int64_t>::remove(tasks_name);
    shmkit::Queue<std::int64_t>::remove(results_name);
    auto tasks = shmkit::Queue<std::int64_t>::create(tasks_name, 64);
    // Room for every result: the parent collects them once all tasks are queued.
    auto results = shmkit::Queue<std::int64_t>::create(results_name, 1024);

    std::vector<shmkit::Process> workers;
    for (int w = 0; w < kWorkers; ++w) {
      workers.emplace_back([=] { work(tasks_name, results_name); }, "worker " + std::to_string(w));
      workers.back().start();
    }
    for (std::int64_t n = 1; n <= kTasks; ++n) (void)tasks.push(n);  // waits while full
    tasks.close();

    std::int64_t sum = 0;
    std::int64_t square = 0;
    for (std::int64_t i = 0; i < kTasks; ++i) {
      // Not forever: a worker that failed never sends its results.
      if (results.pop_for(square, 30s) != shmkit::QueueStatus::ok) break;
      sum += square;
    }
    for (auto& worker : workers) {
      worker.join();
      worker.check();  // rethrows a worker's failure
    }
    shmkit::Queue<std::int64_t>::remove(tasks_name);
    shmkit::Queue<std::int64_t>::remove(results_name);

    const std::int64_t expected = kTasks * (kTasks + 1) * (2 * kTasks + 1) / 6;
    std::cout << "sum of the squares of 1.." << kTasks << ": " << sum << '\n';
    return sum == expected ? 0 : 1;
  } catch (const shmkit::Error& e) {  // the queues stay: `shmkit rm` them
    std::cerr << "queue_workers: " << e.what() << '\n';
    return 1;
  }
}
