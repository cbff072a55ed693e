#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// One problem in a config document, located by its JSON path (`routes[2].upstreams[0].url`).
struct config_error {
  std::string path;
  std::string message;
};

/// "path: message", the form printed by `aggregator --check` and at a refused start.
std::string to_string(const config_error &error);

/// Every problem found, not just the first.
using config_errors = std::vector<config_error>;

/// Parses and validates a config document.
std::variant<service_config, config_errors> parse_config(std::string_view json_text);

/// Reads and validates a config file; an unreadable file is one error with an empty path.
std::variant<service_config, config_errors> load_config_file(const std::string &file);

/// The config compiled into the binary: byte for byte configs/default.json.
std::string_view default_config_json() noexcept;

/// "debug", "info", "warn", "error" or "off"; nullopt otherwise.
std::optional<log_config::level> parse_log_level(std::string_view text);

/// Splits "HOST:PORT" (host an IPv4 literal or a name, port 0-65535); nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text);

}  // namespace agg::config
