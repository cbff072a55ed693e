#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Reads a `cors` block (`server.cors`, a route's `cors`) at `path`: `allow_origins` (required),
/// `allow_methods`, `allow_headers`, `expose_headers`, `allow_credentials`, `max_age_s`.
void read_cors(config_checker &checker, const boost::json::value &v, const std::string &path, cors_policy &out);

/// Whether a page on `origin` (a request's Origin header) may read the answers under `policy`.
bool origin_allowed(const cors_policy &policy, std::string_view origin) noexcept;

}  // namespace agg::config
