#pragma once

#include <boost/json/value.hpp>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Reads the `store` section (state shared across replicas on Redis) into `out`, reporting
/// problems at `store.*`: `redis_url` is split into host, port, user, password and database here.
void read_store(config_checker &c, const boost::json::value &v, store_config &out);

}  // namespace agg::config
