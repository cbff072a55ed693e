#include "aggregator/config/live_routes.hpp"

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

/// What tells the file's text as last read or written from an edit made since (not a secret: a
/// hash of the whole text, so any edit shows).
std::size_t text_hash(std::string_view text) { return std::hash<std::string_view>{}(text); }

/// The file's text now, hashed; 0 when it cannot be read (it was removed, say).
std::size_t hash_of_file(const std::string &file) {
  const auto text = read_config_text(file);
  return text ? text_hash(*text) : 0;
}

/// A config document without its routes: what a reload compares to see whether anything else changed.
json::value without_routes(json::value document) {
  if (auto *o = document.if_object()) o->erase("routes");
  return document;
}

}  // namespace

live_routes::live_routes(std::vector<route_ptr> routes, std::string file, json::value document)
    : file_(std::move(file)),
      document_(std::move(document)),
      file_text_hash_(file_.empty() ? 0 : hash_of_file(file_)),
      current_(std::make_shared<const route_table>(std::move(routes))) {}

std::shared_ptr<const route_table> live_routes::current() const {
  const std::lock_guard lock{current_mutex_};
  return current_;
}

void live_routes::publish(std::vector<route_ptr> routes) {
  auto table = std::make_shared<const route_table>(std::move(routes));
  const std::lock_guard lock{current_mutex_};
  current_.swap(table);  // the old table is released outside the lock, below
}

live_routes::change live_routes::create(const json::value &definition) {
  const std::lock_guard lock{change_mutex_};
  return put(*current(), std::nullopt, definition);
}

live_routes::change live_routes::replace(std::string_view name, const json::value &definition) {
  const std::lock_guard lock{change_mutex_};
  const auto table = current();
  const auto index = table->index_of(name);
  if (!index) return no_route(name);
  json::value whole = definition;
  if (auto *o = whole.if_object(); o != nullptr && !o->contains("name")) o->emplace("name", name);
  return put(*table, index, whole);
}

live_routes::change live_routes::patch(std::string_view name, const json::value &merge_patch_document) {
  const std::lock_guard lock{change_mutex_};
  const auto table = current();
  const auto index = table->index_of(name);
  if (!index) return no_route(name);
  if (!merge_patch_document.is_object())
    return refused{refused::reason::invalid, {{whole_route, "a merge patch must be a JSON object"}}};
  return put(*table, index, merge_patch(table->routes()[*index]->definition, merge_patch_document));
}

std::optional<live_routes::refused> live_routes::remove(std::string_view name) {
  const std::lock_guard lock{change_mutex_};
  const auto table = current();
  const auto index = table->index_of(name);
  if (!index) return no_route(name);
  if (table->routes().size() == 1)
    return refused{refused::reason::conflict,
                   {{whole_route, "the last route cannot be deleted: a config needs at least one route"}}};
  auto routes = table->routes();
  routes.erase(routes.begin() + static_cast<std::ptrdiff_t>(*index));
  return commit(std::move(routes));
}

live_routes::change live_routes::put(const route_table &table, std::optional<std::size_t> index,
                                     const json::value &definition) {
  auto parsed = parse_route(definition);
  if (auto *errors = std::get_if<config_errors>(&parsed)) return refused{refused::reason::invalid, std::move(*errors)};
  auto route = std::make_shared<const route_config>(std::get<route_config>(std::move(parsed)));
  auto routes = table.routes();
  if (index && route->name != routes[*index]->name)
    return refused{refused::reason::invalid,
                   {{"name", "is " + routes[*index]->name +
                                 " in the URL: a route keeps its name (create the new one, then delete this one)"}}};
  std::vector<route_ptr> others = routes;
  if (index) others.erase(others.begin() + static_cast<std::ptrdiff_t>(*index));
  if (auto conflicts = route_conflicts(*route, others); !conflicts.empty())
    return refused{refused::reason::conflict, std::move(conflicts)};
  if (index)
    routes[*index] = route;
  else
    routes.push_back(route);
  if (auto failure = commit(std::move(routes))) return std::move(*failure);
  return route;
}

std::optional<live_routes::refused> live_routes::commit(std::vector<route_ptr> routes) {
  if (!file_.empty()) {
    // Written over an edit made to the file since, the edit would be lost without a word.
    if (hash_of_file(file_) != file_text_hash_)
      return refused{refused::reason::conflict,
                     {{whole_route, file_ + " was edited since the service last read or wrote it; nothing was "
                                            "changed: load the edit first (SIGHUP), then send the change again"}}};
    json::array definitions;
    for (const auto &route : routes) definitions.emplace_back(route->definition);
    json::value document = document_;
    if (!document.is_object()) document = json::object{};
    document.as_object().insert_or_assign("routes", std::move(definitions));
    const std::string text = pretty_json(document);
    if (auto failure = io::replace_file(file_, text))
      return refused{refused::reason::not_saved, {{whole_route, "the change was not applied: " + *failure}}};
    document_ = std::move(document);
    file_text_hash_ = text_hash(text);
  }
  publish(std::move(routes));
  return std::nullopt;
}

std::variant<live_routes::reloaded, config_errors> live_routes::reload() {
  if (file_.empty()) return config_errors{{"", "no config file to reload: the service runs on the embedded default"}};
  // Read under the lock: a change committed meanwhile is either in what is read, or made after it.
  const std::lock_guard lock{change_mutex_};
  const auto text = read_config_text(file_);
  if (!text) return config_errors{{"", "cannot read config file " + file_}};
  auto loaded = parse_config_document(*text);
  if (auto *errors = std::get_if<config_errors>(&loaded)) return std::move(*errors);
  auto &[config, document] = std::get<config_document>(loaded);
  reloaded result{config.routes.size(), without_routes(document) != without_routes(document_)};
  document_ = std::move(document);
  file_text_hash_ = text_hash(*text);
  publish(std::move(config.routes));
  return result;
}

}  // namespace agg::config
