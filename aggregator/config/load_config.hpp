#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "aggregator/config/config_error.hpp"
#include "aggregator/config/environment_values.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

class config_checker;

/// A validated config and the JSON it was read from, kept so that saving routes keeps the rest of the file.
struct config_document {
  service_config config;
  boost::json::value json;
};

/// Parses and validates a config document. `${NAME}` and `${NAME:-default}` in its strings are read
/// from `environment` (`$$` is a `$`); the document keeps them as written.
std::variant<config_document, config_errors> parse_config_document(
    std::string_view json_text, const environment_lookup &environment = process_environment);

/// Parses and validates a config document, when only the config is needed.
std::variant<service_config, config_errors> parse_config(std::string_view json_text,
                                                         const environment_lookup &environment = process_environment);

/// Reads a whole config document with `c`: the one reading behind loading, `config schema` and
/// `config print` (whose checker notes what it reads). Problems go to `c.errors`.
service_config read_document(config_checker &c, const boost::json::value &document,
                             const environment_lookup &environment);

/// The text of a config file; nullopt when it cannot be read.
std::optional<std::string> read_config_text(const std::string &file);

/// Reads and validates a config file; an unreadable file is one error with an empty path.
std::variant<config_document, config_errors> load_config_document(const std::string &file);

/// Reads and validates a config file, when only the config is needed.
std::variant<service_config, config_errors> load_config_file(const std::string &file);

/// The config compiled into the binary: byte for byte configs/default.json.
std::string_view default_config_json() noexcept;

/// "debug", "info", "warn", "error" or "off"; nullopt otherwise.
std::optional<log_config::level> parse_log_level(std::string_view text);

/// Splits "HOST:PORT" (host an IPv4 literal, a name, or an IPv6 literal in brackets, given back
/// without them; port 0-65535); nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text);
/// Why `text` is no listen address parse_listen_address takes.
std::string listen_address_problem(std::string_view text);
/// HOST:PORT as a URL writes it: an IPv6 host in brackets.
std::string address_text(std::string_view host, std::uint16_t port);

}  // namespace agg::config
