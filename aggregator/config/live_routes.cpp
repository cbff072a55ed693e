#include "aggregator/config/live_routes.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

#include "aggregator/config/json_text.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/config/route_definition.hpp"
#include "aggregator/io/replace_file.hpp"

namespace agg::config {

namespace json = boost::json;

namespace {

/// The error path of a problem with a route as a whole rather than one of its members.
constexpr const char *whole_route = "(root)";

live_routes::refused no_route(std::string_view name) {
  return {live_routes::refused::reason::not_found, {{whole_route, "no route named " + std::string{name}}}};
}

/// Holds the routes' place in a document while the text around them is made: a string no config
/// holds (control characters are refused in every value).
constexpr std::string_view routes_placeholder = "\x01routes\x01";

/// The top-level sections other than `routes` that differ between two config documents.
std::vector<std::string> sections_changed(const json::value &now, const json::value &before) {
  static const json::object none;
  const json::object &a = now.is_object() ? now.get_object() : none;
  const json::object &b = before.is_object() ? before.get_object() : none;
  std::vector<std::string> changed;
  for (const auto &kv : a)
    if (kv.key() != "routes" && (!b.contains(kv.key()) || b.at(kv.key()) != kv.value())) changed.emplace_back(kv.key());
  for (const auto &kv : b)
    if (kv.key() != "routes" && !a.contains(kv.key())) changed.emplace_back(kv.key());
  return changed;
}

/// Where the file's routes' array begins and ends: "routes" is a member of the document itself, so
/// its array is written one level deep and each route two.
constexpr std::size_t route_depth = 2;
constexpr std::string_view between_routes = ",\n    ";
constexpr std::string_view first_route = "\n    ";
constexpr std::string_view after_last_route = "\n  ]";

}  // namespace

live_routes::live_routes(std::vector<route_ptr> routes, std::string file, json::value document)
    : file_(std::move(file)) {
  if (!file_.empty()) {
    file_text_ = read_config_text(file_);
    remember(std::move(document), routes);
  }
  current_ = std::make_shared<const route_table>(std::move(routes));
}

void live_routes::remember(json::value document, const std::vector<route_ptr> &routes) {
  if (!document.is_object()) document = json::object{};
  const json::value placeholder = json::string{routes_placeholder};
  document.as_object().insert_or_assign("routes", placeholder);
  const std::string text = pretty_json(document);
  // The document's own "routes" member: the only one at the first indent.
  const std::string member = "\n  \"routes\": ";
  const std::string value = json::serialize(placeholder);
  const std::size_t at = text.find(member + value) + member.size();
  text_before_routes_ = text.substr(0, at);
  text_after_routes_ = text.substr(at + value.size());
  document_ = std::move(document);
  route_texts_.clear();
  route_texts_.reserve(routes.size());
  for (const auto &route : routes) route_texts_.push_back(pretty_json_at(route->definition, route_depth));
}

std::shared_ptr<const route_table> live_routes::current() const {
  const std::lock_guard lock{current_mutex_};
  return current_;
}

void live_routes::publish(std::shared_ptr<const route_table> table) {
  const std::lock_guard lock{current_mutex_};
  current_.swap(table);  // the old table is released outside the lock, below
}

live_routes::change live_routes::create(const json::value &definition) {
  const std::lock_guard lock{change_mutex_};
  return put(*current(), nullptr, definition);
}

live_routes::change live_routes::replace(std::string_view name, const json::value &definition) {
  const std::lock_guard lock{change_mutex_};
  const auto table = current();
  const auto route = table->find(name);
  if (!route) return no_route(name);
  json::value whole = definition;
  if (auto *o = whole.if_object(); o != nullptr && !o->contains("name")) o->emplace("name", name);
  return put(*table, route, whole);
}

live_routes::change live_routes::patch(std::string_view name, const json::value &merge_patch_document) {
  const std::lock_guard lock{change_mutex_};
  const auto table = current();
  const auto route = table->find(name);
  if (!route) return no_route(name);
  if (!merge_patch_document.is_object())
    return refused{refused::reason::invalid, {{whole_route, "a merge patch must be a JSON object"}}};
  return put(*table, route, merge_patch(route->definition, merge_patch_document));
}

std::optional<live_routes::refused> live_routes::remove(std::string_view name) {
  const std::lock_guard lock{change_mutex_};
  const auto table = current();
  const auto route = table->find(name);
  if (!route) return no_route(name);
  if (table->routes().size() == 1)
    return refused{refused::reason::conflict,
                   {{whole_route, "the last route cannot be deleted: a config needs at least one route"}}};
  return commit(*table, edit{route, nullptr});
}

live_routes::change live_routes::put(const route_table &table, const route_ptr &replaced,
                                     const json::value &definition) {
  auto parsed = parse_route(definition);
  if (auto *errors = std::get_if<config_errors>(&parsed)) return refused{refused::reason::invalid, std::move(*errors)};
  auto route = std::make_shared<const route_config>(std::get<route_config>(std::move(parsed)));
  if (replaced && route->name != replaced->name)
    return refused{refused::reason::invalid,
                   {{"name", "is " + replaced->name +
                                 " in the URL: a route keeps its name (create the new one, then delete this one)"}}};
  if (auto conflicts = table.conflicts(*route, replaced); !conflicts.empty())
    return refused{refused::reason::conflict, std::move(conflicts)};
  if (auto failure = commit(table, edit{replaced, route})) return std::move(*failure);
  return route;
}

std::optional<live_routes::refused> live_routes::commit(const route_table &table, const edit &e) {
  if (!file_.empty()) {
    // Written over an edit made to the file since, the edit would be lost without a word.
    if (read_config_text(file_) != file_text_)
      return refused{refused::reason::conflict,
                     {{whole_route, file_ + " was edited since the service last read or wrote it; nothing was "
                                            "changed: load the edit first (SIGHUP), then send the change again"}}};
    const auto &routes = table.routes();
    const std::size_t index =
        e.replaced ? static_cast<std::size_t>(std::find(routes.begin(), routes.end(), e.replaced) - routes.begin())
                   : route_texts_.size();
    std::string changed = e.route ? pretty_json_at(e.route->definition, route_depth) : std::string{};
    std::string text;
    text.reserve(text_before_routes_.size() + text_after_routes_.size() + changed.size() +
                 route_texts_.size() * (between_routes.size() + 256));
    text += text_before_routes_;
    text += '[';
    std::size_t written = 0;
    const auto append = [&](const std::string &route_text) {
      text += written++ == 0 ? first_route : between_routes;
      text += route_text;
    };
    for (std::size_t i = 0; i < route_texts_.size(); ++i) {
      if (i != index)
        append(route_texts_[i]);
      else if (e.route)
        append(changed);
    }
    if (index == route_texts_.size()) append(changed);
    text += written == 0 ? "]" : after_last_route;
    text += text_after_routes_;
    if (auto failure = io::replace_file(file_, text))
      return refused{refused::reason::not_saved, {{whole_route, "the change was not applied: " + *failure}}};
    file_text_ = std::move(text);
    if (index == route_texts_.size())
      route_texts_.push_back(std::move(changed));
    else if (e.route)
      route_texts_[index] = std::move(changed);
    else
      route_texts_.erase(route_texts_.begin() + static_cast<std::ptrdiff_t>(index));
  }
  publish(std::make_shared<const route_table>(table, e.replaced, e.route));
  return std::nullopt;
}

std::variant<live_routes::reloaded, config_errors> live_routes::reload() {
  if (file_.empty()) return config_errors{{"", "no config file to reload: the service runs on the embedded default"}};
  // Read under the lock: a change committed meanwhile is either in what is read, or made after it.
  const std::lock_guard lock{change_mutex_};
  auto text = read_config_text(file_);
  if (!text) return config_errors{{"", "cannot read config file " + file_}};
  auto loaded = parse_config_document(*text);
  if (auto *errors = std::get_if<config_errors>(&loaded)) return std::move(*errors);
  auto &[config, document] = std::get<config_document>(loaded);
  reloaded result{config.routes.size(), sections_changed(document, document_)};
  remember(std::move(document), config.routes);
  file_text_ = std::move(text);
  publish(std::make_shared<const route_table>(std::move(config.routes)));
  return result;
}

}  // namespace agg::config
