#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>

#include "commands.hpp"
#include "options.hpp"
#include "shmkit/detail/queue_layout.hpp"
#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/queue.hpp"

// shmkit queue create NAME --capacity N --max-msg BYTES [--mode OCTAL]

namespace shmkit::cli {
namespace {

constexpr std::uint32_t kMaxCapacity = detail::kQueueMaxSlots;  // ByteQueue's limits
constexpr std::uint64_t kMaxMessage = detail::kQueueMaxMessage;

// A usage error unless the queue's memory (capacity rounded up to a power of
// two, times a slot of max-msg and a header) is within one object's limit.
void check_total_size(std::uint32_t capacity, std::uint64_t max_message) {
  const auto slots = std::max<std::uint32_t>(2, std::bit_ceil(capacity));
  const auto max = static_cast<std::uint32_t>(max_message);  // within kMaxMessage
  const std::uint64_t bytes = detail::queue_data_size(slots, max);
  if (bytes <= detail::kMaxDataSize) return;
  const std::uint64_t most = std::bit_floor((detail::kMaxDataSize - detail::queue_slots_offset()) /
                                            detail::slot_size_for(max));
  throw CLI::ValidationError(
      "--capacity and --max-msg",
      std::to_string(slots) + " slots of " + std::to_string(max_message) + " bytes need " +
          std::to_string(bytes) + " bytes of memory, more than the 64T a queue may have (" +
          std::to_string(detail::kMaxDataSize) + "); with this --max-msg, --capacity is at most " +
          std::to_string(most));
}

struct QueueCreateOptions {
  std::string name;
  std::uint32_t capacity = 0;
  std::uint64_t max_message = 0;
  std::uint32_t mode = 0600;
};

CLI::App* add_create(CLI::App& queue_app, const std::shared_ptr<QueueCreateOptions>& options) {
  CLI::App* app = queue_app.add_subcommand(
      "create", "Create the queue NAME: a bounded multi-producer multi-consumer message queue.");
  app->add_option("NAME", options->name,
                  "Queue name: 1 to 200 of A-Z a-z 0-9 . _ - (the file is DIR/shmkit.NAME)")
      ->type_name("")
      ->required();
  app->add_option("--capacity", options->capacity,
                  "Messages it holds at most: 1 to 16777216, rounded up to a power of two "
                  "(at least 2)")
      ->required()
      ->transform(count_validator(1, kMaxCapacity))
      ->type_name("N");
  app->add_option(
         "--max-msg", options->max_message,
         "Largest message in bytes: a number, or one with a suffix K or M (powers of "
         "1024), at most 64M. Every slot has this room: memory is capacity x max-msg, at most 64T")
      ->required()
      ->transform(size_validator())
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (std::stoull(text) <= kMaxMessage) return {};
            return "max message " + text + " bytes is more than 64M";
          },
          "", "max-msg"))
      ->type_name("BYTES");
  app->add_option("--mode", options->mode,
                  "Permission bits in octal, like 600 or 0644 (default 0600), applied exactly "
                  "whatever the umask")
      ->transform(mode_validator())
      ->type_name("OCTAL");
  app->callback([options] { check_total_size(options->capacity, options->max_message); });
  app->footer(
      "Fails (exit 1) if NAME exists, if the name is invalid, or if the directory has no room\n"
      "for the queue's memory, which is all reserved now. Use it with 'shmkit put' and\n"
      "'shmkit get'; 'shmkit stat NAME' shows its depth, producers and consumers.");
  return app;
}

}  // namespace

Command add_queue_command(CLI::App& main_app, const GlobalOptions& global) {
  auto create_options = std::make_shared<QueueCreateOptions>();
  CLI::App* app = main_app.add_subcommand("queue", "Manage message queues (see 'queue create').");
  app->require_subcommand(1);
  CLI::App* create = add_create(*app, create_options);
  return {app, [create, create_options, &global] {
            if (!create->parsed()) return kExitUsage;  // require_subcommand(1) rules this out
            SegmentOptions segment_options;
            segment_options.directory = global.directory;
            segment_options.mode = create_options->mode;
            const QueueConfig config{create_options->capacity,
                                     static_cast<std::uint32_t>(create_options->max_message)};
            ByteQueue::create(create_options->name, config, segment_options);
            return kExitOk;
          }};
}

}  // namespace shmkit::cli
