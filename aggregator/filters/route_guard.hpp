#pragma once

#include <optional>

#include "aggregator/filters/exchange.hpp"
#include "aggregator/filters/identity_filter.hpp"
#include "aggregator/filters/rate_limit_filter.hpp"

namespace agg::filters {

/// The filters that guard a route, for an endpoint that learns the route from the request's body
/// (a job names the route it runs): the route's access and rate limit, as if the request had been
/// sent to the route itself. Set by whoever builds the chain; both null: nothing to check.
struct route_guard {
  const identity_filter *identity = nullptr;
  const rate_limit_filter *limits = nullptr;

  /// Nullopt when `x` may run `route`, else the refusal (401, 403 or 429).
  [[nodiscard]] std::optional<http::response> admit(exchange &x, const config::route_ptr &route) const {
    if (identity != nullptr)
      if (auto refused = identity->authorize(x.request(), route.get())) return refused;
    if (limits == nullptr || !route->rate_limit) return std::nullopt;
    const auto &limit = *route->rate_limit;
    const bool by_address =
        limit.key == config::limit_key::ip || (limit.key == config::limit_key::client && !x.request().identity);
    return limits->admit(x.request(), route, by_address ? x.client_address() : std::string{});
  }
};

}  // namespace agg::filters
