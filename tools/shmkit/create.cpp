#include <cstdint>
#include <memory>
#include <string>

#include "commands.hpp"
#include "options.hpp"
#include "shmkit/detail/segment_layout.hpp"
#include "shmkit/shared_memory.hpp"

// shmkit create NAME --size BYTES [--mode OCTAL]

namespace shmkit::cli {
namespace {

struct CreateOptions {
  std::string name;
  std::uint64_t size = 0;
  std::uint32_t mode = 0600;
};

}  // namespace

Command add_create_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<CreateOptions>();
  CLI::App* app = main_app.add_subcommand(
      "create", "Create a raw-bytes object NAME (zero-filled), like Python's SharedMemory.");
  app->add_option("NAME", options->name,
                  "Object name: 1 to 200 of A-Z a-z 0-9 . _ - (the file is DIR/shmkit.NAME)")
      ->type_name("")
      ->required();
  app->add_option("--size", options->size,
                  "Bytes of data: a number, or one with a suffix K, M, G or T (powers of 1024: "
                  "64K = 65536), at most 64T. The file is one 4096-byte header page larger.")
      ->required()
      ->transform(size_validator())
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (std::stoull(text) <= detail::kMaxDataSize) return {};
            return "size " + text + " bytes is more than 64T (" +
                   std::to_string(detail::kMaxDataSize) + ")";
          },
          "", "size-limit"))
      ->type_name("BYTES");
  app->add_option("--mode", options->mode,
                  "Permission bits in octal, like 600 or 0644 (default 0600), applied exactly "
                  "whatever the umask")
      ->transform(mode_validator())
      ->type_name("OCTAL");
  app->footer(
      "Fails (exit 1) if NAME exists, if the name is invalid, or if the directory has no room\n"
      "for the memory, which is reserved now rather than on first touch.");
  return {app, [options, &global] {
            SegmentOptions segment_options;
            segment_options.directory = global.directory;
            segment_options.mode = options->mode;
            SharedMemory::create(options->name, options->size, segment_options);
            return kExitOk;
          }};
}

}  // namespace shmkit::cli
