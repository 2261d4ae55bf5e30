#include "shmkit/platform/thread_identity.hpp"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace shmkit::platform {

thread_local constinit std::uint64_t thread_word_cache::t_this_thread_word = 0;

namespace {

// fork() copies the forking thread's cache into a child whose thread id differs.
void forget_in_child() noexcept { thread_word_cache::t_this_thread_word = 0; }

const int kAtforkRegistered = ::pthread_atfork(nullptr, nullptr, &forget_in_child);

std::uint64_t read_this_thread() {
  // /proc/TID/stat works for any thread id, listed in /proc or not.
  return ProcessIdentity::read_own(current_tid(), "the calling thread").pack();
}

}  // namespace

std::int32_t current_tid() noexcept { return static_cast<std::int32_t>(::syscall(SYS_gettid)); }

std::uint64_t thread_word_cache::read_this_thread_word() {
  (void)kAtforkRegistered;  // keeps the pthread_atfork registration linked in
  t_this_thread_word = read_this_thread();
  return t_this_thread_word;
}

}  // namespace shmkit::platform
