#pragma once

#include <cstdio>
#include <cstdlib>

// SHMKIT_ASSERT(cond, msg): a bug in the caller or in shmkit, never a routine
// outcome. Checked in debug builds (NDEBUG unset): prints and aborts.

#ifdef NDEBUG
#define SHMKIT_ASSERT(cond, msg) ((void)0)
#else
#define SHMKIT_ASSERT(cond, msg)                                                                   \
  ((cond) ? (void)0                                                                                \
          : (std::fprintf(stderr, "%s:%d: shmkit assertion failed: %s (%s)\n", __FILE__, __LINE__, \
                          #cond, msg),                                                             \
             std::abort()))
#endif
