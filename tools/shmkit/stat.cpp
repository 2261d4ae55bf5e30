#include <array>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "format.hpp"
#include "inspect.hpp"
#include "kind_state.hpp"
#include "report.hpp"

// shmkit stat NAME [--json]

namespace shmkit::cli {
namespace {

struct StatOptions {
  std::string name;
  bool json = false;
};

std::string hex32(std::uint32_t value) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", value);
  return buf.data();
}

Json process_json(const ProcessStatus& p) {
  return Json{{"pid", p.process.pid}, {"start_ticks", p.process.start_ticks}, {"alive", p.alive}};
}

std::string process_text(const ProcessStatus& p) {
  return "pid " + std::to_string(p.process.pid) + ", start ticks " +
         std::to_string(p.process.start_ticks) + ", " + (p.alive ? "alive" : "dead");
}

void add_attached(const std::vector<ProcessStatus>& attached, Report& report) {
  Json list = Json::array();
  std::vector<std::string> lines;
  std::size_t alive = 0;
  for (const ProcessStatus& p : attached) {
    list.push_back(process_json(p));
    lines.push_back(process_text(p));
    if (p.alive) ++alive;
  }
  report.add_list("attached", "attached", std::move(list),
                  std::to_string(attached.size()) + " (" + std::to_string(alive) + " alive, " +
                      std::to_string(attached.size() - alive) + " dead)",
                  std::move(lines));
}

Report describe(const ObjectInfo& info) {
  const Segment& segment = *info.segment;
  const detail::FixedHeader& h = segment.header();
  const TypeFingerprint& type = segment.type();
  Report report;
  report.add("name", "name", segment.name());
  report.add("path", "path", segment.path());
  report.add("kind", "kind", std::string(kind_name(segment.kind())));
  report.add("type", "type",
             Json{{"name", type.name_string()}, {"size", type.size}, {"align", type.align}},
             type.describe());
  report.add("magic", "magic", hex32(h.magic));
  report.add("layout_version", "layout version", h.layout_version);
  report.add("header_size", "header size", h.header_size);
  report.add("total_size", "total size", h.total_size);
  report.add("data_offset", "data offset", h.data_offset);
  report.add("data_size", "data size", h.data_size);
  report.add("mode", "mode", format_mode(segment.mode()));
  report.add("owner_uid", "owner uid", segment.owner_uid());
  // open() accepts only a published object.
  report.add("state", "state", "ready");
  const ProcessStatus creator{segment.creator(), is_alive(segment.creator())};
  report.add("creator", "creator", process_json(creator), process_text(creator));
  report.add("created", "created", format_utc(segment.created_time()));
  report.add("created_ns", "created (ns)", h.created_ns);
  report.add("checksum", "checksum", hex32(h.checksum));
  report.add("attach_capacity", "attach slots", h.attach_capacity);
  add_attached(info.attached, report);
  report.add("stale", "stale", info.stale,
             !info.stale ? "no"
             : is_orphan_chunk(info)
                 ? "yes (a chunk whose list is gone: 'shmkit rm --stale' removes it)"
                 : "yes (every attached process is dead: 'shmkit rm --stale' removes it)");
  describe_kind_state(segment, report);
  return report;
}

}  // namespace

Command add_stat_command(CLI::App& main_app, const GlobalOptions& global) {
  auto options = std::make_shared<StatOptions>();
  CLI::App* app =
      main_app.add_subcommand("stat", "Print the header of object NAME and its kind's own state.");
  app->add_option("NAME", options->name, "Object name")->type_name("")->required();
  app->add_flag("--json", options->json,
                "Print one JSON object (sizes as numbers, mode as an octal string)");
  app->footer(
      "Shows every header field: kind, element type, layout version, sizes, mode, owner,\n"
      "state, creator (pid, start ticks, alive or dead), creation time (ISO 8601, UTC), each\n"
      "attached process, and what the kind itself holds. The object is only looked at:\n"
      "opened read-only, not attached. An object that fails validation (not a shmkit\n"
      "object, truncated, corrupt, newer layout...) is an error, exit 1.");
  return {app, [options, &global] {
            ObjectInfo info = inspect(options->name, global.directory);
            if (!info.segment) {
              print_error(info.problem +
                          (info.abandoned
                               ? " (unwritten for " + std::to_string(info.unwritten_for->count()) +
                                     " s: abandoned; 'shmkit rm --stale' removes it)"
                               : ""));
              return kExitFailure;
            }
            const Report report = describe(info);
            if (options->json) {
              std::cout << report.to_json().dump(2) << '\n';
            } else {
              report.print_text(std::cout);
            }
            return kExitOk;
          }};
}

}  // namespace shmkit::cli
