// aggregator: answers one HTTP request by calling N upstream APIs at once and merging their JSON.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <variant>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/process/process_setup.hpp"
#include "aggregator/server/http_front.hpp"
#include "aggregator/server/service_log.hpp"

namespace {

constexpr int exit_config_error = 2;

/// Prints every config problem, prefixed by where the config came from; returns the exit code.
int report_config_errors(const std::string &source, const agg::config::config_errors &errors) {
  for (const auto &error : errors) std::fprintf(stderr, "%s: %s\n", source.c_str(), to_string(error).c_str());
  return exit_config_error;
}

/// A config, its file's JSON (kept when the admin API saves routes) and the tokens it names.
struct loaded_config {
  agg::config::config_document file;
  agg::config::access_tokens tokens;
};

/// Reads, validates and resolves the config in `file` (empty: the embedded default).
std::variant<loaded_config, agg::config::config_errors> load(const std::string &file) {
  auto parsed = file.empty() ? agg::config::parse_config_document(agg::config::default_config_json())
                             : agg::config::load_config_document(file);
  if (auto *errors = std::get_if<agg::config::config_errors>(&parsed)) return std::move(*errors);
  auto &document = std::get<agg::config::config_document>(parsed);
  const std::filesystem::path directory = std::filesystem::path{file}.parent_path();  // token files are relative to it
  auto tokens = agg::config::load_access_tokens(document.config.auth, directory.empty() ? "." : directory.string(),
                                                agg::config::process_environment);
  if (auto *errors = std::get_if<agg::config::config_errors>(&tokens)) return std::move(*errors);
  return loaded_config{std::move(document), std::get<agg::config::access_tokens>(std::move(tokens))};
}

using level = agg::config::log_config::level;

/// SIGHUP: the config file's routes replace the live ones when the file is valid; otherwise every
/// problem is logged and the routes in force keep serving.
void reload_routes(agg::config::live_routes &routes, const agg::server::service_log &log) {
  if (routes.file().empty()) return log.event(level::warn, "SIGHUP ignored: no --config file to reload");
  auto reloaded = routes.reload();
  if (const auto *errors = std::get_if<agg::config::config_errors>(&reloaded)) {
    for (const auto &error : *errors) log.event(level::error, "reload: " + to_string(error));
    log.event(level::error, "reload refused: " + std::to_string(errors->size()) + " problem(s) in " + routes.file() +
                                "; the routes in force keep serving");
    return;
  }
  const auto &result = std::get<agg::config::live_routes::reloaded>(reloaded);
  log.event(level::info, "reloaded " + std::to_string(result.routes) + " route(s) from " + routes.file());
  if (result.other_sections_changed)
    log.event(level::warn, "reload: only routes change on SIGHUP; server, client, log, jobs and auth need a restart");
}

}  // namespace

int main(int argc, char **argv) {
  agg::process::block_service_signals();
  CLI::App app{
      "aggregator: calls N upstream HTTP APIs at once and answers with one JSON document.\n"
      "Without --config it runs on the embedded default (configs/default.json)."};
  std::string config_file;
  std::string check_file;
  std::string listen;
  std::size_t threads = 0;
  std::string log_level;
  std::string log_format;
  app.add_option("-c,--config", config_file, "config file (JSON); default: the embedded demo config")
      ->check(CLI::ExistingFile);
  app.add_option("--check", check_file,
                 "validate a config file, print every problem with its JSON path, and exit "
                 "(0: valid, 2: invalid)");
  app.add_option("-l,--listen", listen, "HOST:PORT to listen on, overriding server.listen (port 0: any free port)");
  app.add_option("--threads", threads, "HTTP worker threads, overriding server.threads (one per open connection)")
      ->check(CLI::Range(1, 20'000));
  app.add_option("--log-level", log_level, "debug, info (one access line per request), warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", log_format, "text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : exit_config_error;
  }

  if (!check_file.empty()) {
    const auto checked = load(check_file);
    if (const auto *errors = std::get_if<agg::config::config_errors>(&checked))
      return report_config_errors(check_file, *errors);
    const auto &valid = std::get<loaded_config>(checked);
    std::printf("%s: ok (%zu routes; admin API %s)\n", check_file.c_str(), valid.file.config.routes.size(),
                valid.tokens.admin ? "on" : "off");
    return 0;
  }

  const std::string source = config_file.empty() ? std::string{"embedded default config"} : config_file;
  auto loaded = load(config_file);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&loaded))
    return report_config_errors(source, *errors);
  auto &[file, tokens] = std::get<loaded_config>(loaded);
  auto &config = file.config;
  if (!listen.empty()) {
    const auto address = agg::config::parse_listen_address(listen);
    if (!address) {
      std::fprintf(stderr, "--listen: must be HOST:PORT, e.g. 127.0.0.1:8080\n");
      return exit_config_error;
    }
    config.server.host = address->first;
    config.server.port = address->second;
  }
  if (threads != 0) config.server.threads = threads;
  if (!log_level.empty()) config.log.threshold = *agg::config::parse_log_level(log_level);
  if (!log_format.empty()) config.log.json = log_format == "json";

  agg::process::raise_fd_limit();
  // Threads keep the default stack size (8 MiB of address space; only the pages touched count):
  // the libraries on them decide how deep they go, and a stack cut to fit many threads is what let
  // a long request path overflow std::regex's recursion in an earlier version.
  const agg::server::service_log log{config.log};
  try {
    agg::client::upstream_client client{config.client};
    agg::config::live_routes routes{config.routes, config_file, std::move(file.json)};
    agg::server::http_front front{config, routes, client, log, tokens};
    if (tokens.admin && config_file.empty())
      log.event(level::warn, "admin API on, but changes are kept in memory only: no --config file to save them to");
    // SIGTERM/SIGINT: stop accepting, give in-flight requests the grace period, cancel the rest.
    // SIGHUP: reload the routes from the config file; a bad file changes nothing.
    const auto grace = config.server.shutdown_grace;
    const agg::process::signal_waiter on_signal{
        [&front, &log, grace] {
          log.event(level::info, "stopping: no new connections; finishing requests in flight");
          front.shut_down(grace);
        },
        [&routes, &log] { reload_routes(routes, log); }};
    std::uint16_t port = 0;
    try {
      port = front.bind();
    } catch (const std::runtime_error &e) {  // taken by another process, or not ours: a setup error
      log.event(level::error, e.what());
      return exit_config_error;
    }
    std::printf("aggregator listening on http://%s:%u (config: %s)\n", config.server.host.c_str(), port,
                source.c_str());
    for (const auto &route : config.routes)
      std::printf("  GET %s  (async)   GET %s  (sync baseline)\n", route->path.c_str(), route->sync_path().c_str());
    if (tokens.admin) std::printf("  admin API: /admin/routes (bearer token)\n");
    std::fflush(stdout);
    const bool served = front.run();
    log.event(level::info, served ? "stopped" : "the listener failed");
    return served ? 0 : 1;
  } catch (const std::exception &e) {
    log.event(level::error, e.what());
    return 1;
  }
}
