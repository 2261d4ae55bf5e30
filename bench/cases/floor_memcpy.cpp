// floor.memcpy: single-core memcpy bandwidth, the ceiling for any transport
// that copies a message once (GB/s = bytes copied / s; reads are not counted).

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "harness/clock.hpp"
#include "harness/registry.hpp"
#include "harness/shared_block.hpp"
#include "harness/team.hpp"

namespace shmkit::bench {
namespace {

struct MemcpyShared {
  double gbps[2];  // written by the child: 64 KiB, 1 MiB
};

constexpr std::size_t kSizes[2] = {std::size_t{64} << 10, std::size_t{1} << 20};
const Metric kMetrics[2] = {{"64 KiB copy", "GB/s", Better::higher},
                            {"1 MiB copy", "GB/s", Better::higher}};

// Copies `size` bytes from one buffer to another for `duration`; each copy
// carries a fresh stamp at both ends, checked in the destination, so no copy
// can be skipped or cut short unnoticed.
double copy_rate(std::size_t size, std::chrono::nanoseconds duration) {
  struct Free {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  const std::unique_ptr<void, Free> src_block(std::aligned_alloc(kCacheLine, size));
  const std::unique_ptr<void, Free> dst_block(std::aligned_alloc(kCacheLine, size));
  if (!src_block || !dst_block) throw CaseFailure("out of memory");
  auto* src = static_cast<unsigned char*>(src_block.get());
  auto* dst = static_cast<unsigned char*>(dst_block.get());
  std::memset(src, 0x5a, size);
  std::memset(dst, 0, size);
  const auto pass = [&](std::chrono::nanoseconds d) {
    std::uint64_t copies = 0;
    TimeBox box(d, 1);
    do {
      const std::uint64_t stamp = copies + 1;
      std::memcpy(src, &stamp, sizeof stamp);
      std::memcpy(src + size - sizeof stamp, &stamp, sizeof stamp);
      std::memcpy(dst, src, size);
      // The copy's result is observed: the compiler must do all of it.
      asm volatile("" : : "r"(dst) : "memory");
      std::uint64_t head = 0;
      std::uint64_t tail = 0;
      std::memcpy(&head, dst, sizeof head);
      std::memcpy(&tail, dst + size - sizeof tail, sizeof tail);
      if (head != stamp || tail != stamp) throw CaseFailure("memcpy: stamp not copied");
      ++copies;
    } while (!box.expired());
    return static_cast<double>(copies * size) / static_cast<double>(now_ns() - box.start_ns());
  };
  pass(std::chrono::milliseconds(5));  // warm-up: caches, TLB, clock
  return pass(duration);               // bytes per ns = GB/s
}

void memcpy_rep(Context& ctx, const std::string& system) {
  SharedBlock<MemcpyShared> block;
  Team team(ctx);
  team.spawn(0, [&] {
    for (int i = 0; i < 2; ++i) block->gbps[i] = copy_rate(kSizes[i], ctx.duration() / 2);
  });
  team.join();
  for (int i = 0; i < 2; ++i) ctx.record(system, kMetrics[i], block->gbps[i]);
}

void run(Context& ctx) { ctx.repeat({"memcpy", &memcpy_rep}); }

const Registration kCase{{
    .name = "floor.memcpy",
    .group = "floor",
    .description = "single-core memcpy bandwidth, 64 KiB and 1 MiB blocks (cache-warm)",
    .run = &run,
}};

}  // namespace
}  // namespace shmkit::bench
