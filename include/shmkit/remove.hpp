#pragma once

#include <string_view>

#include "shmkit/segment.hpp"

// remove_object: removes a named object of any kind with everything it owns
// (a List's chunk files too). Refuses, like Segment::remove, a file that is
// not a shmkit object (Errc::corrupt). False if there was no such object.
// Processes that have the object open keep their mappings.

namespace shmkit {

bool remove_object(std::string_view name, const SegmentOptions& options = {});

}  // namespace shmkit
