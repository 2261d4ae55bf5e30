#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "format.hpp"
#include "inspect.hpp"
#include "list_chunks.hpp"
#include "report.hpp"

// shmkit ls [--json] [--all]

namespace shmkit::cli {
namespace {

struct LsOptions {
  bool json = false;
  bool all = false;
};

// The chunk objects of one list, as found in the directory.
struct ChunkTotals {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;  // their data sizes
};
using ChunkMap = std::map<std::string, ChunkTotals>;

bool is_chunk(const ObjectInfo& info) {
  return info.segment && info.segment->kind() == Kind::list_chunk;
}

// Chunk totals by list name, for the lists among `infos`.
ChunkMap chunk_totals(const std::vector<ObjectInfo>& infos) {
  ChunkMap totals;
  for (const ObjectInfo& info : infos) {
    if (info.segment && info.segment->kind() == Kind::list) totals[info.name];
  }
  for (const ObjectInfo& info : infos) {
    if (!is_chunk(info)) continue;
    const std::optional<ChunkName> chunk = parse_chunk_name(info.name);
    if (!chunk) continue;
    const auto list = totals.find(chunk->list);
    if (list == totals.end()) continue;  // an orphan: listed with --all only
    list->second.count += 1;
    list->second.bytes += info.segment->header().data_size;
  }
  return totals;
}

std::size_t count_alive(const std::vector<ProcessStatus>& attached, bool alive) {
  return static_cast<std::size_t>(
      std::count_if(attached.begin(), attached.end(),
                    [alive](const ProcessStatus& p) { return p.alive == alive; }));
}

// "invalid", or "initialising" for an object its creator has not published.
std::string problem_kind(const ObjectInfo& info) {
  return info.initialising ? "initialising" : "invalid";
}

Json to_json(const ObjectInfo& info, const ChunkMap& chunks) {
  Json json = Json::object();
  json["name"] = info.name;
  json["path"] = info.path;
  if (!info.segment) {
    json["kind"] = problem_kind(info);
    json["error"] = error_name(info.error);
    json["problem"] = info.problem;
    json["file_size"] = info.file_size ? Json(*info.file_size) : Json(nullptr);
    json["mode"] = info.file_mode ? Json(format_mode(*info.file_mode)) : Json(nullptr);
    json["stale"] = info.stale;
    return json;
  }
  const Segment& segment = *info.segment;
  json["kind"] = kind_name(segment.kind());
  json["type"] = segment.type().name_string();
  json["size"] = segment.header().data_size;
  json["total_size"] = segment.header().total_size;
  if (const auto list = chunks.find(info.name);
      segment.kind() == Kind::list && list != chunks.end()) {
    json["chunks"] = list->second.count;
    json["chunks_size"] = list->second.bytes;
  }
  json["mode"] = format_mode(segment.mode());
  json["owner_uid"] = segment.owner_uid();
  json["creator_pid"] = segment.creator().pid;
  json["creator_alive"] = is_alive(segment.creator());
  json["created"] = format_utc(segment.created_time());
  json["attached_alive"] = count_alive(info.attached, true);
  json["attached_dead"] = count_alive(info.attached, false);
  json["stale"] = info.stale;
  return json;
}

// The problem without the object's name and path, which the row already shows.
std::string short_problem(const ObjectInfo& info) {
  std::string_view text = info.problem;
  const std::string who = "object '" + info.name + "' (" + info.path + ")";
  if (text.substr(0, 7) == "cannot ") text.remove_prefix(text.find(' ') + 1);
  if (text.substr(0, 5) == "open ") text.remove_prefix(5);
  if (text.substr(0, who.size()) != who) return info.problem;
  text.remove_prefix(who.size());
  if (text.substr(0, 2) == ": ") text.remove_prefix(2);
  if (text.substr(0, 1) == " ") text.remove_prefix(1);
  return std::string(text);
}

void add_row(Table& table, const ObjectInfo& info, const ChunkMap& chunks) {
  if (!info.segment) {
    table.add_row({info.name, problem_kind(info), "-",
                   info.file_mode ? format_mode(*info.file_mode) : "-", "-", "-"},
                  short_problem(info));
    return;
  }
  const Segment& segment = *info.segment;
  std::uint64_t size = segment.header().data_size;
  if (const auto list = chunks.find(info.name);
      segment.kind() == Kind::list && list != chunks.end()) {
    size += list->second.bytes;
  }
  table.add_row({info.name, std::string(kind_name(segment.kind())), std::to_string(size),
                 format_mode(segment.mode()), std::to_string(segment.creator().pid),
                 std::to_string(count_alive(info.attached, true))});
}

}  // namespace

Command add_ls_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<LsOptions>();
  CLI::App* app = main_app.add_subcommand("ls", "List the shmkit objects in the directory.");
  app->add_flag("--json", options->json,
                "Print one JSON array of objects (sizes as numbers, mode as an octal string)");
  app->add_flag("--all", options->all,
                "Also list the chunk objects of lists (kind list-chunk, named NAME.i<k> and "
                "NAME.d<k>), which are hidden by default; an orphan chunk, whose list is gone, "
                "is always listed");
  app->footer(
      "Columns: NAME, KIND, SIZE (data bytes; a list's includes its chunk objects'), MODE,\n"
      "CREATOR (pid), ATTACHED (attached processes still alive). In --json, a list also has\n"
      "\"chunks\" and \"chunks_size\" (data bytes), and \"size\" is its own object's.\n"
      "Objects are only looked at: opened read-only, not attached.\n"
      "A file shmkit.NAME that fails validation is still listed, as kind 'invalid' followed\n"
      "by the problem (an object still being created, or whose creator died creating it,\n"
      "as 'initialising'); it does not make ls fail.");
  return {app, [options, &global] {
            Table table({{"NAME"},
                         {"KIND"},
                         {"SIZE", Table::Align::right},
                         {"MODE"},
                         {"CREATOR", Table::Align::right},
                         {"ATTACHED", Table::Align::right}});
            Json list = Json::array();
            SegmentOptions list_options;
            list_options.directory = global.directory;
            std::vector<ObjectInfo> infos;
            for (const std::string& name : Segment::list(list_options)) {
              ObjectInfo info = inspect(name, global.directory);
              if (info.error == Errc::not_found) continue;  // removed since we listed it
              infos.push_back(std::move(info));
            }
            const ChunkMap chunks = chunk_totals(infos);
            for (const ObjectInfo& info : infos) {
              if (is_chunk(info) && !options->all && !is_orphan_chunk(info)) continue;
              if (options->json) {
                list.push_back(to_json(info, chunks));
              } else {
                add_row(table, info, chunks);
              }
            }
            if (options->json) {
              std::cout << list.dump(2) << '\n';
            } else {
              table.print(std::cout);
            }
            return kExitOk;
          }};
}

}  // namespace shmkit::cli
