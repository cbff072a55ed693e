#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

#include "aggregator/config/service_config.hpp"

namespace agg::fanout {

/// Cuts `body` down as `shape` says, in place and in the body's own storage: select, then allow,
/// deny and rename (see config::body_shape). Each pointer of select, allow or rename that finds
/// nothing adds a note saying so (a deny that finds nothing has nothing to do).
void shape_body(const config::body_shape &shape, boost::json::value &body, std::vector<std::string> &notes);

}  // namespace agg::fanout
