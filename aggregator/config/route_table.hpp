#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// How a route is served at one of its three paths.
enum class endpoint_kind { aggregate, sync_baseline, stream };

/// What a request path names.
struct endpoint {
  route_ptr route;
  endpoint_kind kind = endpoint_kind::aggregate;
};

/// The routes in force at one moment, indexed by name and by endpoint path. Immutable: a change
/// builds a new table, and a request keeps the routes it was planned from. Any thread.
class route_table {
 public:
  explicit route_table(std::vector<route_ptr> routes) : routes_(std::move(routes)) {
    for (std::size_t i = 0; i < routes_.size(); ++i) {
      const route_config &route = *routes_[i];
      by_name_.emplace(route.name, i);
      endpoints_.emplace(route.path, std::pair{i, endpoint_kind::aggregate});
      endpoints_.emplace(route.sync_path(), std::pair{i, endpoint_kind::sync_baseline});
      endpoints_.emplace(route.stream_path(), std::pair{i, endpoint_kind::stream});
    }
  }

  /// In config-file order.
  [[nodiscard]] const std::vector<route_ptr> &routes() const noexcept { return routes_; }

  /// The position in routes() of the route called `name`; nullopt when there is none.
  [[nodiscard]] std::optional<std::size_t> index_of(std::string_view name) const {
    const auto found = by_name_.find(name);
    if (found == by_name_.end()) return std::nullopt;
    return found->second;
  }

  /// The route called `name`; null when there is none.
  [[nodiscard]] route_ptr find(std::string_view name) const {
    const auto index = index_of(name);
    return index ? routes_[*index] : nullptr;
  }

  /// The route served at `path`, and how; nullopt when no route serves it.
  [[nodiscard]] std::optional<endpoint> endpoint_at(std::string_view path) const {
    const auto found = endpoints_.find(path);
    if (found == endpoints_.end()) return std::nullopt;
    return endpoint{routes_[found->second.first], found->second.second};
  }

 private:
  std::vector<route_ptr> routes_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
  std::map<std::string, std::pair<std::size_t, endpoint_kind>, std::less<>> endpoints_;
};

}  // namespace agg::config
