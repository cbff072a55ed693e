#pragma once

#include <boost/json/object.hpp>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Reads a route's `access`, `claims_to_headers` and `rate_limit` from `o` (the route) into `route`.
void read_route_access(config_checker &c, const boost::json::object &o, route_config &route);

}  // namespace agg::config
