#include "report.hpp"

#include <algorithm>

namespace shmkit::cli {

void Report::add(std::string key, std::string label, Json value, std::string text) {
  entries_.push_back({std::move(key), std::move(label), std::move(value), std::move(text), {}, {}});
}

void Report::add(std::string key, std::string label, Json value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  add(std::move(key), std::move(label), std::move(value), std::move(text));
}

void Report::add_list(std::string key, std::string label, Json value, std::string summary,
                      std::vector<std::string> lines) {
  entries_.push_back({std::move(key),
                      std::move(label),
                      std::move(value),
                      std::move(summary),
                      std::move(lines),
                      {}});
}

Report& Report::add_section(std::string key, std::string label) {
  entries_.push_back({std::move(key), std::move(label), {}, {}, {}, std::make_unique<Report>()});
  return *entries_.back().section;
}

Json Report::to_json() const {
  Json json = Json::object();
  for (const Entry& entry : entries_) {
    json[entry.key] = entry.section ? entry.section->to_json() : entry.value;
  }
  return json;
}

void Report::print_text(std::ostream& out, std::size_t indent) const {
  std::size_t width = 0;
  for (const Entry& entry : entries_) {
    if (!entry.section) width = std::max(width, entry.label.size());
  }
  const std::string margin(indent, ' ');
  for (const Entry& entry : entries_) {
    if (entry.section) {
      out << margin << entry.label << ":\n";
      entry.section->print_text(out, indent + 2);
      continue;
    }
    const std::string pad(width - entry.label.size(), ' ');
    out << margin << entry.label << ": " << pad << entry.text << '\n';
    for (const std::string& line : entry.lines) out << margin << "  " << line << '\n';
  }
}

}  // namespace shmkit::cli
