// list.append_read: shmkit::List<std::int64_t>, the classic writer/reader: one
// process appends items one by one, another waits for each with
// wait_for_size and verifies it. (Issue 6 compares this with Python's
// Manager().list(); that peer is not built yet.)

#include "harness/registry.hpp"
#include "workloads/shmkit_channels.hpp"

namespace shmkit::bench {
namespace {

void run(Context& ctx) {
  ctx.repeat({"shmkit", &list_append_read_rep});
  if (ctx.shared_core()) ctx.note("one CPU: writer and reader take turns");
}

const Registration kCase{{
    .name = "list.append_read",
    .group = "list",
    .description = "shmkit::List<int64_t>: a writer appends, a reader waits (wait_for_size) and "
                   "verifies each item; items/s",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
