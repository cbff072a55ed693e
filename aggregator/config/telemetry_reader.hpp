#pragma once

#include <boost/json/value.hpp>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Reads the `telemetry` section (OpenTelemetry export) into `out`, reporting problems at `telemetry.*`.
void read_telemetry(config_checker &c, const boost::json::value &v, telemetry_config &out);

}  // namespace agg::config
