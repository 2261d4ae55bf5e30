#include "shmkit/platform/thread_identity.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shmkit/error.hpp"

namespace shmkit::platform {
namespace {

thread_local std::uint64_t cached_word = 0;

// fork() copies the forking thread's cache into a child whose thread id differs.
void forget_in_child() noexcept { cached_word = 0; }

const int kAtforkRegistered = ::pthread_atfork(nullptr, nullptr, &forget_in_child);

std::uint64_t read_this_thread() {
  const std::int32_t tid = current_tid();
  // /proc/TID/stat works for any thread id, listed in /proc or not.
  const std::optional<ProcessIdentity> me = ProcessIdentity::of(tid);
  if (!me) throw Error(Errc::corrupt, "cannot read /proc/" + std::to_string(tid) + "/stat");
  return me->pack();
}

}  // namespace

std::int32_t current_tid() noexcept { return static_cast<std::int32_t>(::syscall(SYS_gettid)); }

std::uint64_t this_thread_word() {
  (void)kAtforkRegistered;
  if (cached_word == 0) cached_word = read_this_thread();
  return cached_word;
}

}  // namespace shmkit::platform
