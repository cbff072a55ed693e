#pragma once

#include <optional>

#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/coro/task.hpp"
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

  /// Nullopt when `x` may run `route`, else the refusal (401, 403 or 429). A task: a limit shared
  /// across replicas asks Redis.
  [[nodiscard]] coro::task<std::optional<http::response>> admit(exchange &x, config::route_ptr route) const {
    if (identity != nullptr)
      if (auto refused = identity->authorize(x.request(), route.get())) co_return refused;
    if (limits == nullptr || !route->rate_limit) co_return std::nullopt;
    std::string address = rate_limit_filter::keyed_by_address(*route, x.request()) ? x.client_address() : "";
    const std::size_t loop = x.loop() != nullptr ? x.loop()->index() : 0;
    co_return co_await limits->admit(x.request(), std::move(route), std::move(address), loop);
  }
};

}  // namespace agg::filters
