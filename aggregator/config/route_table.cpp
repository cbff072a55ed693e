#include "aggregator/config/route_table.hpp"

#include <algorithm>

namespace agg::config {

namespace {

/// Changes kept beside a shared index before a new index is made: lookups stay two, and a table of
/// n routes is indexed anew once every few dozen changes instead of at each.
constexpr std::size_t max_changes = 64;

constexpr std::string_view sync_suffix = "_sync";
constexpr std::string_view stream_suffix = "/stream";

}  // namespace

route_table::route_table(std::vector<route_ptr> routes) : routes_(std::move(routes)) { fold(); }

route_table::route_table(const route_table &before, const route_ptr &replaced, route_ptr route)
    : routes_(before.routes_),
      index_(before.index_),
      changed_names_(before.changed_names_),
      changed_paths_(before.changed_paths_) {
  const auto at = replaced ? std::find(routes_.begin(), routes_.end(), replaced) : routes_.end();
  if (at != routes_.end()) {
    changed_names_.insert_or_assign((*at)->name, nullptr);
    changed_paths_.insert_or_assign((*at)->path, nullptr);
  }
  if (route) {
    changed_names_.insert_or_assign(route->name, route);
    changed_paths_.insert_or_assign(route->path, route);
  }
  if (at == routes_.end())
    routes_.push_back(std::move(route));
  else if (route)
    *at = std::move(route);
  else
    routes_.erase(at);
  if (changed_names_.size() + changed_paths_.size() > max_changes) fold();
}

void route_table::add(route_ptr route) {
  if (!find(route->name)) changed_names_.emplace(route->name, route);  // as fold(): the first keeps it
  if (!at_path(route->path)) changed_paths_.emplace(route->path, route);
  routes_.push_back(std::move(route));
  if (changed_names_.size() + changed_paths_.size() > max_changes) fold();
}

void route_table::fold() {
  auto fresh = std::make_shared<index>();
  fresh->names.reserve(routes_.size());
  fresh->paths.reserve(routes_.size());
  for (const auto &route : routes_) {
    fresh->names.emplace(route->name, route);  // the first of two routes with one name keeps it
    fresh->paths.emplace(route->path, route);
  }
  index_ = std::move(fresh);
  changed_names_.clear();
  changed_paths_.clear();
}

route_ptr route_table::lookup(std::unordered_map<std::string_view, route_ptr> index::*which, const changes &changed,
                              std::string_view key) const {
  if (!changed.empty())
    if (const auto found = changed.find(key); found != changed.end()) return found->second;
  const auto &in = (*index_).*which;
  const auto found = in.find(key);
  return found == in.end() ? nullptr : found->second;
}

std::optional<endpoint> route_table::endpoint_at(std::string_view path) const {
  if (auto route = at_path(path)) return endpoint{std::move(route), endpoint_kind::aggregate};
  if (path.ends_with(sync_suffix))
    if (auto route = at_path(path.substr(0, path.size() - sync_suffix.size())))
      return endpoint{std::move(route), endpoint_kind::sync_baseline};
  if (path.ends_with(stream_suffix))
    if (auto route = at_path(path.substr(0, path.size() - stream_suffix.size())))
      return endpoint{std::move(route), endpoint_kind::stream};
  return std::nullopt;
}

config_errors route_table::conflicts(const route_config &candidate, const route_ptr &replacing) const {
  config_errors found;
  if (const auto named = find(candidate.name); named && named != replacing)
    found.push_back({"name", "duplicate route name: a route is called that"});
  // The route serving `p`, unless it is the one being replaced.
  const auto taken_by = [&](const std::string &p) -> route_ptr {
    auto at = endpoint_at(p);
    return at && at->route != replacing ? at->route : nullptr;
  };
  if (const auto other = taken_by(candidate.path))
    found.push_back({"path", "path already served by another endpoint (of route " + other->name + ")"});
  if (const auto other = taken_by(candidate.sync_path()))
    found.push_back(
        {"path", "its sync baseline " + candidate.sync_path() + " is already served (by route " + other->name + ")"});
  if (const auto other = taken_by(candidate.stream_path()))
    found.push_back(
        {"path", "its stream " + candidate.stream_path() + " is already served (by route " + other->name + ")"});
  return found;
}

}  // namespace agg::config
