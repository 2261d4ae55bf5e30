#include "queue_open.hpp"

#include <optional>
#include <system_error>

#include "shmkit/error.hpp"
#include "shmkit/segment.hpp"

namespace shmkit::cli {

ByteQueue open_byte_queue(const std::string& command, const std::string& name,
                          const std::string& directory) {
  SegmentOptions options;
  options.directory = directory;
  try {
    return ByteQueue::open(name, options);
  } catch (const Error& e) {
    if (e.code() != Errc::type_mismatch) throw;
    // What it stores, for the message: a look neither writes nor attaches.
    std::error_code ec;
    const std::optional<Segment> segment = Segment::look(name, options, ec);
    if (!segment) throw;
    throw Error(Errc::type_mismatch,
                command + ": queue '" + name + "' is a Queue<" + segment->type().printable_name() +
                    ">, not a byte queue; put and get take a byte queue (made by 'shmkit queue "
                    "create' or shmkit::ByteQueue)");
  }
}

}  // namespace shmkit::cli
