#pragma once

// Everything shmkit offers, in one include.

#include "shmkit/array.hpp"
#include "shmkit/error.hpp"
#include "shmkit/kind.hpp"
#include "shmkit/list.hpp"
#include "shmkit/pipe.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/process.hpp"
#include "shmkit/queue.hpp"
#include "shmkit/remove.hpp"
#include "shmkit/segment.hpp"
#include "shmkit/shared_memory.hpp"
#include "shmkit/sync/barrier.hpp"
#include "shmkit/sync/condition.hpp"
#include "shmkit/sync/event.hpp"
#include "shmkit/sync/lock_guard.hpp"
#include "shmkit/sync/mutex.hpp"
#include "shmkit/sync/semaphore.hpp"
#include "shmkit/type_fingerprint.hpp"
#include "shmkit/value.hpp"
