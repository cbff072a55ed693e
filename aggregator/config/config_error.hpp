#pragma once

#include <string>
#include <vector>

namespace agg::config {

/// One problem in a config document, located by its JSON path (`routes[2].upstreams[0].url`).
struct config_error {
  std::string path;
  std::string message;
};

/// "path: message", the form printed by `aggregator --check` and at a refused start.
inline std::string to_string(const config_error &error) {
  return error.path.empty() ? error.message : error.path + ": " + error.message;
}

/// Every problem found, not just the first.
using config_errors = std::vector<config_error>;

}  // namespace agg::config
