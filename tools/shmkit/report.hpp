#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// Report: what `shmkit stat` prints, built once and rendered either as
// aligned "label: value" lines or as one JSON object with snake_case keys.
// Fields keep the order they were added in. Not thread-safe.

namespace shmkit::cli {

using Json = nlohmann::ordered_json;

class Report {
 public:
  // A field: `key` in JSON with `value`; "label: text" in the text form.
  void add(std::string key, std::string label, Json value, std::string text);
  // As above, the text being the value itself (a string unquoted).
  void add(std::string key, std::string label, Json value);
  // A list: `key` holds the array `value`; the text form shows "label: summary"
  // and then each of `lines`, indented.
  void add_list(std::string key, std::string label, Json value, std::string summary,
                std::vector<std::string> lines);
  // A nested report: an object under `key`; in text, "label:" and its fields
  // indented below.
  Report& add_section(std::string key, std::string label);

  [[nodiscard]] Json to_json() const;
  void print_text(std::ostream& out, std::size_t indent = 0) const;

 private:
  struct Entry {
    std::string key;
    std::string label;
    Json value;
    std::string text;
    std::vector<std::string> lines;
    std::unique_ptr<Report> section;
  };
  std::vector<Entry> entries_;
};

}  // namespace shmkit::cli
