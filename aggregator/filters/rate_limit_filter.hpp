#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "aggregator/filters/request_filter.hpp"
#include "aggregator/quota/rate_limiter.hpp"
#include "aggregator/runtime/metrics.hpp"

namespace agg::filters {

/// A route's `rate_limit`, per instance: each request is charged one to the route's request limit
/// here (after identity, so `client` means the JWT's `sub` or the API key's name, else the address),
/// and, once its plan is made, the upstream calls the plan makes to the call limit (the endpoint
/// calls the context's charge_calls before sending any). Refused: 429 with Retry-After, a JSON error
/// naming the limit, and the IETF RateLimit-Policy / RateLimit headers, which admitted answers carry
/// too. Each route's keys live in an LRU of its `max_keys`; a route changed keeps its counts.
class rate_limit_filter final : public request_filter {
 public:
  explicit rate_limit_filter(
      runtime::metrics &stats, quota::rate_limiter::now_function now = [] { return quota::rate_limiter::clock::now(); })
      : stats_(stats), now_(std::move(now)) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;
  void on_response(request_context &request, http::response &answer) const override;

  /// Charges `request` (its identity read) one request on `route`'s limit and arms its call charge;
  /// what the job endpoint asks for the route a job names. `client_address`: the peer's.
  [[nodiscard]] std::optional<http::response> admit(request_context &request, const config::route_ptr &route,
                                                    const std::string &client_address) const;

 private:
  /// A route's limiters, and its RateLimit-Policy items (the same for every answer).
  struct route_limits {
    std::size_t max_keys = 0;
    std::shared_ptr<quota::rate_limiter> requests;
    std::shared_ptr<quota::rate_limiter> calls;
    std::string requests_policy;
    std::string calls_policy;
    std::tuple<double, double, double, double> terms;  ///< what the policies say
  };
  [[nodiscard]] std::shared_ptr<const route_limits> limits_of(const config::route_config &route) const;

  runtime::metrics &stats_;
  quota::rate_limiter::now_function now_;
  mutable std::mutex mutex_;                                                                // guards limits_
  mutable std::map<std::string, std::shared_ptr<const route_limits>, std::less<>> limits_;  // by route name
};

}  // namespace agg::filters
