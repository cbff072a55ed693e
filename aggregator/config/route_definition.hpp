#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <variant>
#include <vector>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/config_error.hpp"
#include "aggregator/config/environment_values.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Reads and validates one route definition (a JSON object), with error paths inside the route
/// (`upstreams[1].url`). Whether its name and paths are free is route_table::conflicts'. Its strings'
/// `${NAME}`s are read from `environment`; the route's `definition` keeps them as written.
std::variant<route_config, config_errors> parse_route(const boost::json::value &definition,
                                                      const environment_lookup &environment = process_environment);

/// The most calls `entry` can plan in one aggregation of `route`: 1, num.max, or max_items (in
/// batches: max_items / batch.size, rounded up).
std::size_t most_calls_of(const upstream_entry &entry, const route_config &route);
/// The most calls one aggregation of `route` can make, all its entries together: what max_calls bounds.
std::size_t most_calls(const route_config &route);

/// `target` with `patch` applied as a JSON merge patch (RFC 7386): members set to null are removed,
/// objects merge member by member, anything else replaces.
boost::json::value merge_patch(boost::json::value target, const boost::json::value &patch);

/// Reads the config file's `routes` array into `out`, reporting problems and conflicts at
/// `routes[i]...` paths.
void read_routes(config_checker &checker, const boost::json::value &routes, std::vector<route_ptr> &out,
                 const environment_lookup &environment = process_environment);

}  // namespace agg::config
