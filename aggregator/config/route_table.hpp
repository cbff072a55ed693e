#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aggregator/config/config_error.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// How a route is served at one of its three paths.
enum class endpoint_kind { aggregate, sync_baseline, stream };

/// What a request path names.
struct endpoint {
  route_ptr route;
  endpoint_kind kind = endpoint_kind::aggregate;
};

/// The routes in force at one moment, indexed by name and by path. Immutable once published: a
/// change makes a new table, and a request keeps the routes it was planned from. A changed table
/// shares its predecessor's index and keeps only what changed beside it (folded into a new index
/// once that grows), so a change costs a few lookups and a copy of the list of pointers, not a new
/// index of every route. Any thread.
class route_table {
 public:
  route_table() = default;
  explicit route_table(std::vector<route_ptr> routes);
  /// `before` with `replaced` (one of its routes; null: none) replaced by `route` (null: removed;
  /// a new route goes at the end).
  route_table(const route_table &before, const route_ptr &replaced, route_ptr route);

  /// Appends `route` (while a table is built: a published one never changes).
  void add(route_ptr route);
  /// Why `candidate` cannot join the table (or take the place of `replacing`): its name or one of
  /// its three endpoint paths is taken. Error paths are `name` and `path`; empty when it can. A few
  /// lookups, whatever the table's size.
  [[nodiscard]] config_errors conflicts(const route_config &candidate, const route_ptr &replacing = nullptr) const;

  /// In config-file order.
  [[nodiscard]] const std::vector<route_ptr> &routes() const noexcept { return routes_; }
  /// The route called `name`; null when there is none.
  [[nodiscard]] route_ptr find(std::string_view name) const { return lookup(&index::names, changed_names_, name); }
  /// The route served at `path`, and how; nullopt when no route serves it. A route's sync baseline
  /// and stream paths are its path plus a suffix, and no path of one route is another's, so the
  /// suffix says which.
  [[nodiscard]] std::optional<endpoint> endpoint_at(std::string_view path) const;

 private:
  /// Routes by name and by path, the keys viewing the routes' own strings.
  struct index {
    std::unordered_map<std::string_view, route_ptr> names;
    std::unordered_map<std::string_view, route_ptr> paths;
  };
  /// Since index_ was made: a name or path that now names another route, or none (null).
  using changes = std::map<std::string, route_ptr, std::less<>>;

  [[nodiscard]] route_ptr lookup(std::unordered_map<std::string_view, route_ptr> index::*which, const changes &changed,
                                 std::string_view key) const;
  [[nodiscard]] route_ptr at_path(std::string_view path) const { return lookup(&index::paths, changed_paths_, path); }
  /// Builds index_ from routes_ anew; the changes are in it then.
  void fold();

  std::vector<route_ptr> routes_;
  std::shared_ptr<const index> index_ = std::make_shared<const index>();
  changes changed_names_;
  changes changed_paths_;
};

}  // namespace agg::config
