// aggregator: answers one HTTP request by calling N upstream APIs at once and merging their JSON.

#include <CLI/CLI.hpp>

#include <curl/curl.h>

#include <boost/url/parse.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "aggregator/client/transfer.hpp"
#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/config/origin_reader.hpp"
#include "aggregator/config/tls_files.hpp"
#include "aggregator/control/admin_server.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/process/process_setup.hpp"
#include "aggregator/runtime/engine.hpp"
#include "aggregator/runtime/service_log.hpp"

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
  auto tls_errors = agg::config::check_tls_files(document.config.client, directory.empty() ? "." : directory.string());
  if (auto *errors = std::get_if<agg::config::config_errors>(&tokens)) {
    errors->insert(errors->end(), tls_errors.begin(), tls_errors.end());
    return std::move(*errors);
  }
  if (!tls_errors.empty()) return tls_errors;
  return loaded_config{std::move(document), std::get<agg::config::access_tokens>(std::move(tokens))};
}

using level = agg::config::log_config::level;

/// The upstream URLs that point at the service's own data plane: a route calling itself (the loop
/// guard answers its inner calls 508), said as "routes[i].upstreams[j].url: ..." lines.
std::vector<std::string> self_calls(const agg::config::service_config &config) {
  std::vector<std::string> found;
  const auto local = [](std::string_view host) {
    return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "0.0.0.0";
  };
  for (std::size_t r = 0; r < config.routes.size(); ++r) {
    const auto &entries = config.routes[r]->upstreams;
    for (std::size_t e = 0; e < entries.size(); ++e) {
      const std::string &text = entries[e].url.text();
      const auto origin = boost::urls::parse_uri(std::string_view{text}.substr(0, entries[e].url.origin_length()));
      if (!origin || origin->port_number() != config.server.port) continue;
      const std::string_view host = origin->encoded_host();
      if (host == config.server.host || (local(host) && local(config.server.host)))
        found.push_back("routes[" + std::to_string(r) + "].upstreams[" + std::to_string(e) +
                        "].url points at this service's own listen address (its calls will be refused: 508 Loop "
                        "Detected)");
    }
  }
  return found;
}

/// Lowers the connection caps when the descriptor limit cannot hold them both: an aggregation of N
/// calls holds N+1 sockets, and a process out of descriptors fails calls as "couldn't connect".
void fit_descriptor_budget(agg::config::service_config &config, const agg::runtime::service_log &log) {
  constexpr std::size_t reserve = 256;  // listeners, epoll sets, eventfds, files, the control plane
  const std::size_t limit = agg::process::descriptor_limit();
  std::size_t &clients = config.server.max_connections;
  std::size_t &upstream = config.client.max_connections;
  if (limit <= reserve * 2 || clients + upstream + reserve <= limit) return;
  const double share = static_cast<double>(limit - reserve) / static_cast<double>(clients + upstream);
  const std::size_t was_clients = clients;
  const std::size_t was_upstream = upstream;
  clients = std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(clients) * share));
  upstream = std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(upstream) * share));
  log.event(level::warn, "descriptor limit " + std::to_string(limit) + " cannot hold server.max_connections " +
                             std::to_string(was_clients) + " + client.max_connections " + std::to_string(was_upstream) +
                             ": using " + std::to_string(clients) + " and " + std::to_string(upstream));
}

/// SIGHUP: the config file's routes replace the live ones when the file is valid; otherwise every
/// problem is logged and the routes in force keep serving.
void reload_routes(agg::config::live_routes &routes, const agg::runtime::service_log &log) {
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
  std::string admin_listen;
  std::size_t threads = 0;
  std::string log_level;
  std::string log_format;
  app.add_option("-c,--config", config_file, "config file (JSON); default: the embedded demo config")
      ->check(CLI::ExistingFile);
  app.add_option("--check", check_file,
                 "validate a config file, print every problem with its JSON path, and exit "
                 "(0: valid, 2: invalid)");
  app.add_option("-l,--listen", listen,
                 "HOST:PORT of the data plane, overriding server.listen (port 0: any free port)");
  app.add_option("--admin-listen", admin_listen,
                 "HOST:PORT of the control plane (admin API, /metrics), overriding server.admin_listen");
  app.add_option("--threads", threads, "control-plane worker threads, overriding server.threads")
      ->check(CLI::Range(1, 1'000));
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
    for (const auto &warning : self_calls(valid.file.config))
      std::printf("%s: warning: %s\n", check_file.c_str(), warning.c_str());
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
  for (const auto &[given, option, host, port] :
       {std::tuple{&listen, "--listen", &config.server.host, &config.server.port},
        std::tuple{&admin_listen, "--admin-listen", &config.server.admin_host, &config.server.admin_port}}) {
    if (given->empty()) continue;
    const auto address = agg::config::parse_listen_address(*given);
    if (!address) {
      std::fprintf(stderr, "%s: must be HOST:PORT, e.g. 127.0.0.1:8080\n", option);
      return exit_config_error;
    }
    *host = address->first;
    *port = address->second;
  }
  if (threads != 0) config.server.threads = threads;
  if (!log_level.empty()) config.log.threshold = *agg::config::parse_log_level(log_level);
  if (!log_format.empty()) config.log.json = log_format == "json";

  agg::process::raise_fd_limit();
  // Threads keep the default stack size (8 MiB of address space; only the pages touched count):
  // the libraries on them decide how deep they go, and a stack cut to fit many threads is what let
  // a long request path overflow std::regex's recursion in an earlier version.
  const agg::runtime::service_log log{config.log};
  fit_descriptor_budget(config, log);
  try {
    agg::client::upstream_client client{config.client};
    agg::config::live_routes routes{config.routes, config_file, std::move(file.json)};
    agg::runtime::engine engine{config, routes, client, log, tokens};
    agg::front::data_plane data{engine};
    agg::control::admin_server control{engine, [&data, &engine, &client] {
                                         agg::runtime::metrics::gauges now;
                                         now.aggregations_in_flight = engine.aggregations.in_flight();
                                         now.transfers_in_flight = client.transfers_in_flight();
                                         now.open_connections = data.open_connections();
                                         now.connections_refused = data.refused_connections();
                                         now.sync_queued = engine.sync_pool.queued();
                                         now.loop_lag_seconds =
                                             std::chrono::duration<double>(client.take_max_lag()).count();
                                         const auto connections = agg::client::connections_so_far();
                                         now.upstream_connections_opened = connections.opened;
                                         now.upstream_connections_reused = connections.reused;
                                         return now;
                                       }};
    for (const auto &[origin, options] : config.client.origins)
      if (!options.tls.verify)
        log.event(level::warn, "client.origins[\"" + origin +
                                   "\"].tls.verify is false: its certificate and host name are not checked");
    for (const auto &warning : self_calls(config)) log.event(level::warn, warning);
    if (tokens.admin && config_file.empty())
      log.event(level::warn, "admin API on, but changes are kept in memory only: no --config file to save them to");
    std::uint16_t port = 0;
    std::uint16_t admin_port = 0;
    try {
      port = data.bind();
      admin_port = control.bind();
    } catch (const std::runtime_error &e) {  // taken by another process, or not ours: a setup error
      log.event(level::error, e.what());
      return exit_config_error;
    }
    data.start();  // before the signal thread exists: a stop it takes finds the data plane whole
    // SIGTERM/SIGINT: stop accepting, give in-flight requests the grace period, cancel the rest.
    // SIGHUP: reload the routes from the config file; a bad file changes nothing.
    const auto grace = config.server.shutdown_grace;
    const agg::process::signal_waiter on_signal{
        [&data, &control, &log, grace] {
          log.event(level::info, "stopping: no new connections; finishing requests in flight");
          data.shut_down(grace);
          control.stop();
        },
        [&routes, &log] { reload_routes(routes, log); }};
    std::printf("aggregator listening on http://%s:%u (config: %s; %zu event loops)\n", config.server.host.c_str(),
                port, source.c_str(), client.loop_count());
    std::printf("control plane listening on http://%s:%u (%s/metrics, /ready, /health)\n",
                config.server.admin_host.c_str(), admin_port, tokens.admin ? "/admin/routes, " : "");
    const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
    const bool threaded = curl->ares == nullptr && (curl->features & CURL_VERSION_ASYNCHDNS) != 0;
    std::printf("upstream client: libcurl %s, %s, %s resolver (never blocks a loop: %s), HTTP/2: %s\n", curl->version,
                curl->ssl_version,
                curl->ares != nullptr ? "c-ares"
                : threaded            ? "threaded"
                                      : "blocking",
                curl->ares != nullptr || threaded ? "yes" : "NO",
                (curl->features & CURL_VERSION_HTTP2) == 0   ? "none"
                : agg::config::http2_refusal("http").empty() ? "over TLS and h2c"
                                                             : "over TLS only");
    for (const auto &route : config.routes) {
      const char *method = route->takes_body ? "POST" : "GET";
      std::printf("  %s %s  (async)   %s %s  (sync baseline)\n", method, route->path.c_str(), method,
                  route->sync_path().c_str());
    }
    std::fflush(stdout);
    const bool served = control.run();
    log.event(level::info, served ? "stopped" : "the control plane's listener failed");
    return served ? 0 : 1;
  } catch (const std::exception &e) {
    log.event(level::error, e.what());
    return 1;
  }
}
