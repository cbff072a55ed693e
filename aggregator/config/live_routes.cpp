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

live_routes::refused stale_version(std::uint64_t expected, std::uint64_t now) {
  return {live_routes::refused::reason::stale,
          {{whole_route, "the routes are at version " + std::to_string(now) + ", not " + std::to_string(expected) +
                             ": another change came first; read them again (GET /admin/routes) and send yours with "
                             "the new ETag"}}};
}

/// A change met a newer shared table: it may be made again on that one.
bool met_newer_table(const live_routes::refused &r) { return r.why == live_routes::refused::reason::stale; }
bool met_newer_table(const live_routes::change &c) {
  const auto *r = std::get_if<live_routes::refused>(&c);
  return r != nullptr && met_newer_table(*r);
}
bool met_newer_table(const std::optional<live_routes::refused> &r) { return r && met_newer_table(*r); }

/// How often a change that keeps meeting newer shared tables is made again before it gives up.
constexpr int change_attempts = 4;

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

live_routes::versioned live_routes::current_versioned() const {
  const std::lock_guard lock{current_mutex_};
  return {current_, version_};
}

bool live_routes::publish(std::shared_ptr<const route_table> table, std::uint64_t version) {
  const std::lock_guard lock{current_mutex_};
  if (version <= version_ && current_) return false;
  current_.swap(table);  // the old table is released outside the lock, below
  version_ = version;
  return true;
}

template <typename Attempt>
std::invoke_result_t<Attempt &, const live_routes::versioned &> live_routes::changing(expected_version expected,
                                                                                      Attempt attempt) {
  const std::lock_guard lock{change_mutex_};
  for (int i = 1;; ++i) {
    const versioned now = current_versioned();
    if (expected && *expected != now.version) return stale_version(*expected, now.version);
    auto result = attempt(now);
    if (!met_newer_table(result) || expected || share_ == nullptr || i == change_attempts) return result;
    refresh();  // someone else's change came first: take it, and make this one on it
  }
}

live_routes::change live_routes::create(const json::value &definition, expected_version expected) {
  return changing(expected, [&](const versioned &now) { return put(now, nullptr, definition); });
}

live_routes::change live_routes::replace(std::string_view name, const json::value &definition,
                                         expected_version expected) {
  return changing(expected, [&](const versioned &now) -> change {
    const auto route = now.table->find(name);
    if (!route) return no_route(name);
    json::value whole = definition;
    if (auto *o = whole.if_object(); o != nullptr && !o->contains("name")) o->emplace("name", name);
    return put(now, route, whole);
  });
}

live_routes::change live_routes::patch(std::string_view name, const json::value &merge_patch_document,
                                       expected_version expected) {
  return changing(expected, [&](const versioned &now) -> change {
    const auto route = now.table->find(name);
    if (!route) return no_route(name);
    if (!merge_patch_document.is_object())
      return refused{refused::reason::invalid, {{whole_route, "a merge patch must be a JSON object"}}};
    return put(now, route, merge_patch(route->definition, merge_patch_document));
  });
}

std::optional<live_routes::refused> live_routes::remove(std::string_view name, expected_version expected) {
  return changing(expected, [&](const versioned &now) -> std::optional<refused> {
    const auto route = now.table->find(name);
    if (!route) return no_route(name);
    if (now.table->routes().size() == 1)
      return refused{refused::reason::conflict,
                     {{whole_route, "the last route cannot be deleted: a config needs at least one route"}}};
    return commit(*now.table, now.version, edit{route, nullptr});
  });
}

json::array live_routes::definitions_of(const route_table &table) {
  json::array out;
  out.reserve(table.routes().size());
  for (const auto &route : table.routes()) out.emplace_back(route->definition);
  return out;
}

config_errors live_routes::adopt(std::uint64_t version, const json::array &definitions) {
  route_table table;
  config_errors problems;
  for (std::size_t i = 0; i < definitions.size(); ++i) {
    auto parsed = parse_route(definitions[i]);
    const std::string at = "routes[" + std::to_string(i) + "]";
    if (auto *errors = std::get_if<config_errors>(&parsed)) {
      for (auto &e : *errors) problems.push_back({at + (e.path.empty() ? "" : "." + e.path), std::move(e.message)});
      continue;
    }
    auto route = std::make_shared<const route_config>(std::get<route_config>(std::move(parsed)));
    if (auto conflicts = table.conflicts(*route); !conflicts.empty()) {
      for (auto &e : conflicts) problems.push_back({at + "." + e.path, std::move(e.message)});
      continue;
    }
    table = route_table{table, nullptr, std::move(route)};
  }
  if (definitions.empty()) problems.push_back({"routes", "the shared table has no route"});
  if (problems.empty()) publish(std::make_shared<const route_table>(std::move(table)), version);
  return problems;
}

void live_routes::refresh() {
  auto stored = share_->get();
  if (const auto *now = std::get_if<std::pair<std::uint64_t, json::array>>(&stored))
    static_cast<void>(adopt(now->first, now->second));
}

live_routes::change live_routes::put(const versioned &now, const route_ptr &replaced, const json::value &definition) {
  const route_table &table = *now.table;
  auto parsed = parse_route(definition);
  if (auto *errors = std::get_if<config_errors>(&parsed)) return refused{refused::reason::invalid, std::move(*errors)};
  auto route = std::make_shared<const route_config>(std::get<route_config>(std::move(parsed)));
  if (replaced && route->name != replaced->name)
    return refused{refused::reason::invalid,
                   {{"name", "is " + replaced->name +
                                 " in the URL: a route keeps its name (create the new one, then delete this one)"}}};
  if (auto conflicts = table.conflicts(*route, replaced); !conflicts.empty())
    return refused{refused::reason::conflict, std::move(conflicts)};
  if (auto failure = commit(table, now.version, edit{replaced, route})) return std::move(*failure);
  return route;
}

std::optional<live_routes::refused> live_routes::commit(const route_table &table, std::uint64_t version,
                                                        const edit &e) {
  auto changed_table = std::make_shared<const route_table>(table, e.replaced, e.route);
  if (share_ != nullptr) {
    // Shared: the table goes to the share, compare-and-set; the file is not written (see README).
    auto stored = share_->put(version, version + 1, definitions_of(*changed_table));
    if (const auto *newer = std::get_if<route_share::stale>(&stored)) return stale_version(version, newer->current);
    if (const auto *down = std::get_if<route_share::unavailable>(&stored))
      return refused{refused::reason::unavailable, {{whole_route, "nothing was changed: " + down->why}}};
    publish(std::move(changed_table), std::get<std::uint64_t>(stored));
    return std::nullopt;
  }
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
  publish(std::move(changed_table), version + 1);
  return std::nullopt;
}

std::optional<std::string> live_routes::share_reloaded(const std::vector<route_ptr> &routes) {
  const json::array definitions = definitions_of(route_table{routes});
  for (int i = 0; i < change_attempts; ++i) {
    const std::uint64_t version = current_versioned().version;
    auto stored = share_->put(version, version + 1, definitions);
    if (const auto *done = std::get_if<std::uint64_t>(&stored)) {
      publish(std::make_shared<const route_table>(routes), *done);
      return std::nullopt;
    }
    if (const auto *down = std::get_if<route_share::unavailable>(&stored)) return down->why;
    refresh();  // the file wins over whatever another replica stored meanwhile
  }
  return "other replicas kept changing the routes; send SIGHUP again";
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
  if (share_ != nullptr) {
    if (auto why = share_reloaded(config.routes))
      return config_errors{{"", "the file's routes were not shared with the other replicas: " + *why}};
  } else {
    publish(std::make_shared<const route_table>(config.routes), current_versioned().version + 1);
  }
  remember(std::move(document), config.routes);
  file_text_ = std::move(text);
  return result;
}

}  // namespace agg::config
