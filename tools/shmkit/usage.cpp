#include "usage.hpp"

#include <optional>
#include <vector>

namespace shmkit::cli {
namespace {

// The parsed subcommand of `command`, if any (require_subcommand(0, 1): one).
const CLI::App* parsed_subcommand(const CLI::App& command) {
  for (const CLI::App* sub : command.get_subcommands()) {
    if (sub->parsed()) return sub;
  }
  return nullptr;
}

// "shmkit", "shmkit ls", "shmkit queue create".
std::string command_path(const CLI::App& command) {
  std::string path;
  for (const CLI::App* c = &command; c->get_parent() != nullptr; c = c->get_parent()) {
    path.insert(0, " " + c->get_name());
  }
  return "shmkit" + path;
}

// "create, ls, stat": the commands of `command`, in the order of its help.
std::string command_names(const CLI::App& command) {
  std::string names;
  for (const CLI::App* sub : command.get_subcommands(
           [](const CLI::App* c) { return !c->get_name().empty() && !c->get_disabled(); })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

// The root and its parsed subcommands, outermost first.
std::vector<const CLI::App*> parsed_chain(const CLI::App& root) {
  std::vector<const CLI::App*> chain;
  for (const CLI::App* c = &root; c != nullptr; c = parsed_subcommand(*c)) chain.push_back(c);
  return chain;
}

// A single-value option given more than once, which CLI11 reports as
// "--size: At Most 1 required but received 2".
std::optional<UsageError> repeated_option(const CLI::App& root) {
  for (const CLI::App* command : parsed_chain(root)) {
    for (const CLI::Option* option : command->get_options()) {
      if (option->get_multi_option_policy() == CLI::MultiOptionPolicy::Throw &&
          option->get_items_expected_max() == 1 && option->count() > 1) {
        return UsageError{option->get_name() + " given " + std::to_string(option->count()) +
                              " times; give it once",
                          command_path(*command)};
      }
    }
  }
  return std::nullopt;
}

}  // namespace

UsageErrors::UsageErrors(CLI::App& root) : root_(root) { watch(root); }

void UsageErrors::watch(CLI::App& command) {
  for (CLI::App* sub : command.get_subcommands([](CLI::App*) { return true; })) {
    sub->preparse_callback(
        [this, sub](std::size_t) { extras_before_[sub] = root_.remaining_size(); });
    watch(*sub);
  }
}

// The deepest parsed command that had begun when root's unknown argument
// number `index` came.
const CLI::App& UsageErrors::command_of_extra(std::size_t index) const {
  const CLI::App* command = &root_;
  for (const CLI::App* sub = parsed_subcommand(root_); sub != nullptr;
       sub = parsed_subcommand(*sub)) {
    const auto began = extras_before_.find(sub);
    if (began == extras_before_.end() || began->second > index) break;
    command = sub;
  }
  return *command;
}

UsageError UsageErrors::unknown(const std::string& arg, const CLI::App& command) const {
  const std::string path = command_path(command);
  if (arg.size() > 1 && arg[0] == '-') {
    // "--bogus=3" names --bogus.
    const std::string name = arg.rfind("--", 0) == 0 ? arg.substr(0, arg.find('=')) : arg;
    return {"unknown option '" + name + "'", path};
  }
  const std::string commands = command_names(command);
  if (commands.empty()) return {"unexpected argument '" + arg + "'", path};
  if (&command == &root_)
    return {"unknown command '" + arg + "' (commands: " + commands + ")", path};
  const std::string name = path.substr(std::string("shmkit ").size());
  return {"'" + arg + "' is not a " + name + " command (" + name + " commands: " + commands + ")",
          path};
}

UsageError UsageErrors::explain(const CLI::ParseError& error) const {
  const std::vector<std::string> extras = root_.remaining();
  if (!extras.empty()) return unknown(extras.front(), command_of_extra(0));
  // With fallthrough a subcommand keeps none of its own; in case one does.
  for (const CLI::App* command : parsed_chain(root_)) {
    const std::vector<std::string> own = command->remaining();
    if (!own.empty() && !command->get_allow_extras() && !command->get_prefix_command()) {
      return unknown(own.front(), *command);
    }
  }
  if (auto repeated = repeated_option(root_)) return *repeated;
  const CLI::App& last = *parsed_chain(root_).back();
  // CLI11 says "A subcommand is required", naming neither.
  if (&last != &root_ && last.get_require_subcommand_min() > 0) {
    const std::string name = command_path(last).substr(std::string("shmkit ").size());
    return {
        "a " + name + " command is required (" + name + " commands: " + command_names(last) + ")",
        command_path(last)};
  }
  return {error.what(), command_path(last)};
}

}  // namespace shmkit::cli
