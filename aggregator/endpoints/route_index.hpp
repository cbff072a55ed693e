#pragma once

#include <boost/json/object.hpp>

#include "aggregator/config/service_config.hpp"

namespace agg::endpoints {

/// What `GET /` says of one route, for a person or a page that builds requests to it (`/ui`): its
/// paths and method, `num`'s bounds when an entry repeats, the parameters it accepts (a required one
/// has no default) and its entries, each with the names of the entries it waits for.
boost::json::object describe_route(const config::route_config &route);

}  // namespace agg::endpoints
