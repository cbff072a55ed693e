#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// The keys a route or an upstream entry may use for its calls' behaviours.
inline constexpr std::string_view call_policy_keys[] = {"retry", "hedge", "breaker", "cache", "coalesce"};

/// Reads the behaviours `o` (a route, or an entry) sets into `out`, reporting problems at `path`. An
/// entry starts from its route's policy: what it sets replaces the route's, and `false` turns a
/// behaviour off for that entry (`inherited`: `out` holds the route's, not defaults to show).
void read_call_policy(config_checker &c, const boost::json::object &o, const std::string &path, call_policy &out,
                      bool inherited = false);

}  // namespace agg::config
