#pragma once

// Everything shmkit offers, in one include.

#include "shmkit/error.hpp"
#include "shmkit/kind.hpp"
#include "shmkit/platform/process.hpp"
#include "shmkit/segment.hpp"
#include "shmkit/shared_memory.hpp"
#include "shmkit/type_fingerprint.hpp"
