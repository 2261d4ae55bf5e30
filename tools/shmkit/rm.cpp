#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "inspect.hpp"
#include "list_chunks.hpp"
#include "shmkit/detail/printable.hpp"
#include "shmkit/remove.hpp"

// shmkit rm NAME... | shmkit rm --stale

namespace shmkit::cli {
namespace {

struct RmOptions {
  std::vector<std::string> names;
  bool stale = false;
};

// The list whose chunk NAME is, if NAME is a list chunk and that list exists.
std::optional<std::string> list_of_chunk(const std::string& name, const GlobalOptions& global) {
  const std::optional<ChunkName> chunk = parse_chunk_name(name);
  if (!chunk || !object_exists(chunk->list, global.directory)) return std::nullopt;
  SegmentOptions options;
  options.directory = global.directory;
  std::error_code ec;
  const std::optional<Segment> segment = Segment::look(name, options, ec);
  if (!segment || segment->kind() != Kind::list_chunk) return std::nullopt;
  return chunk->list;
}

// Removes NAME; false (and a message on stderr) if that failed. A chunk of an
// existing list is refused: its list would then report it missing, as corrupt.
bool remove_one(const std::string& name, const GlobalOptions& global) {
  SegmentOptions options;
  options.directory = global.directory;
  if (const std::optional<std::string> list = list_of_chunk(name, global)) {
    print_error(
        "not removing object '" + name + "': it is a chunk of list '" + *list +
        "'; remove the list, chunks and all, with: " + detail::rm_command(*list, global.directory));
    return false;
  }
  try {
    if (remove_object(name, options)) return true;
    print_error("cannot remove object '" + name + "' (" + global.directory + "/" +
                Segment::file_name(name) + "): not found");
  } catch (const std::system_error& e) {
    print_error(e.what());
  }
  return false;
}

int remove_names(const std::vector<std::string>& names, const GlobalOptions& global) {
  bool ok = true;
  for (const std::string& name : names) ok = remove_one(name, global) && ok;
  return ok ? kExitOk : kExitFailure;
}

int remove_stale(const GlobalOptions& global) {
  SegmentOptions options;
  options.directory = global.directory;
  bool ok = true;
  for (const std::string& name : Segment::list(options)) {
    const ObjectInfo info = inspect(name, global.directory);
    if (!info.stale) continue;
    // A chunk goes with its list, never on its own while the list exists: a
    // live reader of the list may not have mapped it yet.
    if (list_of_chunk(name, global)) continue;
    // A process may attach between the look and the removal: removing only
    // unlinks the name, and processes that have the object open keep it.
    if (remove_one(name, global)) {
      std::cout << "removed " << name << '\n';
    } else {
      ok = false;
    }
  }
  return ok ? kExitOk : kExitFailure;
}

}  // namespace

Command add_rm_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<RmOptions>();
  CLI::App* app = main_app.add_subcommand("rm", "Remove objects by name, or the stale ones.");
  CLI::Option* names =
      app->add_option("NAME", options->names, "Names of the objects to remove")->type_name("");
  CLI::Option* stale = app->add_flag(
      "--stale", options->stale,
      "Remove every stale object instead (see below), printing 'removed NAME' for each");
  names->excludes(stale);
  app->callback([names, stale] {
    if (names->count() == 0 && stale->count() == 0) throw CLI::RequiredError("NAME or --stale");
  });
  app->footer(
      "Stale: an object with at least one attached process and all of its attached processes\n"
      "dead (killed while attached), an object stuck being created whose creator died, a\n"
      "list chunk whose list is gone, or a file left empty or unwritten for over a minute\n"
      "(its creator was killed before it recorded itself, which it does at once).\n"
      "An object with no attached process at all (every process closed it cleanly) is not\n"
      "stale: it is kept on purpose. Objects that fail validation are left alone.\n"
      "A list is removed with its chunk objects (NAME.i<k>, NAME.d<k>). A chunk is not removed\n"
      "on its own while its list exists (by name: refused; as stale: skipped); an orphan\n"
      "chunk, whose list is gone, is stale.\n"
      "Removing unlinks the name; processes that have the object open keep their mapping.\n"
      "Refuses (exit 1) a file shmkit.NAME that is not a shmkit object. Goes on past a name\n"
      "that fails (missing: 'not found'), reports each failure on stderr, and exits 1 if any\n"
      "failed.");
  return {app, [options, &global] {
            return options->stale ? remove_stale(global) : remove_names(options->names, global);
          }};
}

}  // namespace shmkit::cli
