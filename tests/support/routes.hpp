#pragma once

#include <stdexcept>
#include <string>
#include <variant>

#include <boost/json/parse.hpp>

#include <vector>

#include "aggregator/config/load_config.hpp"
#include "aggregator/config/route_definition.hpp"

namespace agg::testing {

/// A validated config from JSON text; throws (failing the test) when it is not a valid config.
/// Usable at namespace scope, where Catch2's assertion macros are not.
inline config::service_config config_from(const std::string &json) {
  auto parsed = config::parse_config(json);
  if (const auto *errors = std::get_if<config::config_errors>(&parsed))
    throw std::invalid_argument("test config rejected: " + to_string(errors->at(0)));
  return std::get<config::service_config>(std::move(parsed));
}

/// "path: message" lines of a route definition that must be refused (empty when it is accepted).
inline std::vector<std::string> route_problems(const std::string &definition) {
  const auto parsed = config::parse_route(boost::json::parse(definition));
  std::vector<std::string> lines;
  if (const auto *errors = std::get_if<config::config_errors>(&parsed))
    for (const auto &e : *errors) lines.push_back(to_string(e));
  return lines;
}

/// A validated route from its definition; throws (failing the test) when it is not valid.
inline config::route_ptr route_from(const std::string &definition) {
  auto parsed = config::parse_route(boost::json::parse(definition));
  if (const auto *errors = std::get_if<config::config_errors>(&parsed))
    throw std::invalid_argument("test route rejected: " + to_string(errors->at(0)));
  return std::make_shared<const config::route_config>(std::get<config::route_config>(std::move(parsed)));
}

/// A config with one route `demo` at /api/demo: `num` repetitions of `url_template`.
inline config::service_config demo_config(const std::string &url_template, int timeout_ms = 20'000) {
  return config_from(R"({"server":{"listen":"127.0.0.1:0","threads":64},"client":{"shards_per_loop":4},
    "routes":[{"name":"demo","path":"/api/demo","num":{"default":10,"max":50},"timeout_ms":)" +
                     std::to_string(timeout_ms) + R"(,"upstreams":[{"url":")" + url_template +
                     R"(","repeat":true}]}]})");
}

}  // namespace agg::testing
