#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/runtime/service_log.hpp"

namespace agg::app {

/// A config as start-up reads it: the config, its file's JSON (kept where the admin API saves
/// routes) and the tokens it names.
struct loaded_config {
  config::config_document file;
  config::access_tokens tokens;
};

/// Reads, validates and resolves the config in `file` (empty: the embedded default), its token files
/// and TLS files included.
std::variant<loaded_config, config::config_errors> load(const std::string &file);

/// What the command line sets over the config's values (empty or 0: keep the config's).
struct overrides {
  std::string listen;
  std::string admin_listen;
  std::size_t threads = 0;
  std::string log_level;
  std::string log_format;
};
/// Applies `given` to `config`; an error message (the option and what it wants) when an address is
/// not HOST:PORT, or when the two planes end up on one address.
std::variant<std::monostate, std::string> apply(const overrides &given, config::service_config &config);

/// What is worth a word at start but no refusal, each at its config path: an origin whose
/// certificate is not checked, or that no call goes to; a route calling the service itself (the
/// loop guard answers its inner calls 508); an admin API with nowhere to save (`has_file` false).
config::config_errors start_warnings(const config::service_config &config, const config::access_tokens &tokens,
                                     bool has_file);

/// The service's version and those of the libraries it is built on, one line each.
std::string version_text();

/// Lowers the connection caps when the descriptor limit cannot hold them both (an aggregation of N
/// calls holds N+1 sockets, and a process out of descriptors fails calls as "couldn't connect"),
/// with a warning in `log`.
void fit_descriptor_budget(config::service_config &config, const runtime::service_log &log);

/// Removes what saves of `config_file` killed half-way left next to it (logged); nothing without a file.
void remove_interrupted_saves(const std::string &config_file, const runtime::service_log &log);

/// Logs start_warnings.
void warn_at_start(const config::service_config &config, const config::access_tokens &tokens, bool has_file,
                   const runtime::service_log &log);

/// What the banner says of the running service beside its config.
struct banner_facts {
  std::string source;  ///< the config file, or "embedded default config"
  std::uint16_t port = 0;
  std::uint16_t admin_port = 0;
  bool admin_api = false;
  std::size_t loops = 0;
};

/// The lines announced once both planes listen: where, on which config, the upstream client, the
/// routes with their three endpoints (in the log's format, on stdout).
void print_banner(const config::service_config &config, const banner_facts &facts, const runtime::service_log &log);

}  // namespace agg::app
