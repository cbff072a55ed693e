#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/client/upstream_call.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::fanout {

/// A request's query parameters as the front received them (a name may repeat).
using query_params = std::multimap<std::string, std::string, std::less<>>;

/// Looks a request header up by name (case-insensitive); nullopt when the request has none.
using header_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// Why a request cannot be planned: becomes a 4xx with a JSON body at the front.
struct request_error {
  int status = 400;
  std::string code;     ///< stable machine-readable name, e.g. "invalid_parameter"
  std::string message;  ///< what was wrong, for a person
};

/// The upstream calls one request to a route turns into, in the order the response lists them.
/// Shares its route: a route changed while the plan runs keeps the version the plan started with.
struct fan_out_plan {
  config::route_ptr route;
  std::vector<client::upstream_call> calls;
  std::vector<bool> required;                         ///< required[i]: the aggregate fails when calls[i] fails
  std::vector<const config::call_policy *> policies;  ///< policies[i]: calls[i]'s behaviours (in the route)
  std::chrono::steady_clock::time_point deadline;     ///< when unfinished calls are cut off
};

/// Validates the query against the route (known names, `num` within bounds, `timeout_ms` that
/// can only shorten the route's limits, lengths) and expands the route's upstream entries into
/// calls; parameter values only ever fill template slots. The deadline starts now. Request headers
/// the route forwards are looked up with `headers` (none when it is empty).
std::variant<fan_out_plan, request_error> make_plan(config::route_ptr route, const query_params &query,
                                                    const header_lookup &headers = {});

}  // namespace agg::fanout
