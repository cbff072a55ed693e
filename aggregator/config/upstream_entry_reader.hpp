#pragma once

#include <boost/json/value.hpp>

#include <string>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Reads a route's `upstreams` array at `path` into `route.upstreams` (after its params, num and
/// policy are read), then links the entries: every `{name.body#...}` a template or `for_each` uses
/// must name another entry (or `request`, the client's body), the uses must form no cycle, and the
/// route learns its dependency order, whether it is composed, whether it takes a request body and
/// its merge mode. Problems are reported at the entries' paths.
void read_upstreams(config_checker &c, const boost::json::object &route_object, const std::string &path,
                    route_config &route);

}  // namespace agg::config
