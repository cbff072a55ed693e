#include "aggregator/app/startup.hpp"

#include <curl/curl.h>
#include <httplib.h>
#include <openssl/crypto.h>

#include <boost/version.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "aggregator/config/origin_reader.hpp"
#include "aggregator/config/tls_files.hpp"
#include "aggregator/front/server_tls.hpp"
#include "aggregator/io/replace_file.hpp"
#include "aggregator/process/memory_allocator.hpp"
#include "aggregator/process/process_setup.hpp"

namespace agg::app {

namespace {

using level = config::log_config::level;

/// Whether two listen hosts can take the same port: the same host, or either one every address.
/// Whether `host` listens on every address ([::] takes IPv4 too).
bool every_address(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

bool hosts_overlap(const std::string &a, const std::string &b) {
  return a == b || every_address(a) || every_address(b);
}

/// `server.tls`'s files resolved against `dir` and loaded as the data plane would load them; and
/// a route that requires a client certificate where none is asked for.
void add_server_tls_problems(config::service_config &config, const std::string &dir, config::config_errors &found) {
  auto &tls = config.server.tls;
  if (tls) {
    auto unreadable = config::resolve_server_tls_files(*tls, dir);
    if (unreadable.empty()) {
      if (auto made = front::make_server_context(*tls); auto *why = std::get_if<front::tls_problem>(&made))
        unreadable.push_back({"server.tls." + why->key, why->reason});
    }
    found.insert(found.end(), unreadable.begin(), unreadable.end());
  }
  for (std::size_t i = 0; i < config.routes.size(); ++i)
    if (const auto &access = config.routes[i]->access;
        access && access->require == config::credential_need::client_cert && (!tls || tls->client_ca_file.empty()))
      found.push_back({"routes[" + std::to_string(i) + "].access.require",
                       "client_cert needs server.tls.client_ca_file: no client certificate is asked for without it"});
}

}  // namespace

std::variant<loaded_config, config::config_errors> load(const std::string &file) {
  auto parsed =
      file.empty() ? config::parse_config_document(config::default_config_json()) : config::load_config_document(file);
  if (auto *errors = std::get_if<config::config_errors>(&parsed)) return std::move(*errors);
  auto &document = std::get<config::config_document>(parsed);
  const std::filesystem::path directory = std::filesystem::path{file}.parent_path();  // files are relative to it
  const std::string dir = directory.empty() ? "." : directory.string();
  auto tokens =
      config::load_access_tokens(document.config.auth, dir, config::process_environment, document.config.routes);
  auto tls_errors = config::check_tls_files(document.config.client, dir);
  add_server_tls_problems(document.config, dir, tls_errors);
  if (auto *errors = std::get_if<config::config_errors>(&tokens)) {
    errors->insert(errors->end(), tls_errors.begin(), tls_errors.end());
    return std::move(*errors);
  }
  auto &loaded = std::get<config::access_tokens>(tokens);
  config::load_store_password(document.config.store, dir, config::process_environment, loaded, tls_errors);
  if (!tls_errors.empty()) return tls_errors;
  return loaded_config{std::move(document), std::move(loaded)};
}

std::variant<std::monostate, std::string> apply(const overrides &given, config::service_config &config) {
  for (const auto &[address, option, host, port] :
       {std::tuple{&given.listen, "--listen", &config.server.host, &config.server.port},
        std::tuple{&given.admin_listen, "--admin-listen", &config.server.admin_host, &config.server.admin_port}}) {
    if (address->empty()) continue;
    const auto parsed = config::parse_listen_address(*address);
    if (!parsed) return std::string{option} + ": " + config::listen_address_problem(*address);
    *host = parsed->first;
    *port = parsed->second;
  }
  const auto &server = config.server;
  if (server.port != 0 && server.port == server.admin_port && hosts_overlap(server.host, server.admin_host))
    return "server.admin_listen: " + config::address_text(server.admin_host, server.admin_port) +
           " is where server.listen (" + config::address_text(server.host, server.port) +
           ") listens too: the data plane and the control plane need a port each";
  if (given.threads != 0) config.server.threads = given.threads;
  if (!given.log_level.empty()) config.log.threshold = *config::parse_log_level(given.log_level);
  if (!given.log_format.empty()) config.log.json = given.log_format == "json";
  return std::monostate{};
}

namespace {

/// The upstream URLs that point at the service's own data plane.
void add_self_calls(const config::service_config &config, config::config_errors &found) {
  const auto local = [](std::string_view host) {
    return host == "127.0.0.1" || host == "localhost" || host == "::1" || every_address(host);
  };
  for (std::size_t r = 0; r < config.routes.size(); ++r) {
    const auto &entries = config.routes[r]->upstreams;
    for (std::size_t e = 0; e < entries.size(); ++e) {
      const std::string &text = entries[e].url.text();
      const auto origin = boost::urls::parse_uri(std::string_view{text}.substr(0, entries[e].url.origin_length()));
      if (!origin || origin->port_number() != config.server.port) continue;
      std::string_view host = origin->encoded_host();
      if (host.starts_with('[')) host = host.substr(1, host.size() - 2);  // as the config holds it
      if (host == config.server.host || (local(host) && local(config.server.host)))
        found.push_back({"routes[" + std::to_string(r) + "].upstreams[" + std::to_string(e) + "].url",
                         "points at this service's own listen address (its calls will be refused: 508 Loop "
                         "Detected)"});
    }
  }
}

/// The origins in client.origins that neither a route's upstream URL nor auth.jwt.jwks_url is on.
void add_unused_origins(const config::service_config &config, config::config_errors &found) {
  std::set<std::string_view> used;
  for (const auto &route : config.routes)
    for (const auto &entry : route->upstreams)
      used.insert(std::string_view{entry.url.text()}.substr(0, entry.url.origin_length()));
  const std::string_view jwks = config.auth.jwt ? std::string_view{config.auth.jwt->jwks_url} : std::string_view{};
  for (const auto &[origin, options] : config.client.origins)
    if (!used.contains(origin) &&
        !(jwks.starts_with(origin) && (jwks.size() == origin.size() || jwks[origin.size()] == '/')))
      found.push_back({config::origin_path("client.origins", origin),
                       "no route's upstream URL (nor auth.jwt.jwks_url) is on this origin: its options apply to "
                       "nothing (an origin is written as the URLs write it: scheme, host and port)"});
}

}  // namespace

config::config_errors start_warnings(const config::service_config &config, const config::access_tokens &tokens,
                                     bool has_file) {
  config::config_errors found;
  for (const auto &[origin, options] : config.client.origins)
    if (!options.tls.verify)
      found.push_back({config::origin_path("client.origins", origin) + ".tls.verify",
                       "is false: its certificate and host name are not checked"});
  add_unused_origins(config, found);
  add_self_calls(config, found);
  if (tokens.admin && !has_file)
    found.push_back({"auth", "admin API on, but changes are kept in memory only: no --config file to save them to"});
  return found;
}

std::string version_text() {
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  std::string text = "aggregator " AGG_VERSION "\n";
  text += std::string{"libcurl "} + curl->version + " (" + curl->ssl_version + ")\n";
  text += std::string{OpenSSL_version(OPENSSL_VERSION)} + "\n";
  text += "Boost " + std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) + "." +
          std::to_string(BOOST_VERSION % 100) + "\n";
  text += "cpp-httplib " CPPHTTPLIB_VERSION;
  return text;
}

void fit_descriptor_budget(config::service_config &config, const runtime::service_log &log) {
  // Listeners, epoll sets, eventfds, files, and the control plane's connections (waiting and served).
  const std::size_t reserve = 256 + 2 * config.server.admin_max_connections;
  const std::size_t limit = process::descriptor_limit();
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

void remove_interrupted_saves(const std::string &config_file, const runtime::service_log &log) {
  if (config_file.empty()) return;
  for (const auto &removed : io::remove_stale_temporaries(config_file, std::chrono::seconds{60}))
    log.event(level::warn, "removed " + removed + ", left by a save of the config file that was interrupted");
}

void warn_at_start(const config::service_config &config, const config::access_tokens &tokens, bool has_file,
                   const runtime::service_log &log) {
  for (const auto &warning : start_warnings(config, tokens, has_file)) log.event(level::warn, to_string(warning));
}

void print_banner(const config::service_config &config, const banner_facts &facts, const runtime::service_log &log) {
  const auto line = [&log](const char *format, auto... values) {
    char text[512];
    std::snprintf(text, sizeof text, format, values...);
    log.announce(text);
  };
  line("aggregator listening on %s://%s (config: %s; %zu event loops)", config.server.tls ? "https" : "http",
       config::address_text(config.server.host, facts.port).c_str(), facts.source.c_str(), facts.loops);
  line("control plane listening on http://%s (%s/metrics, /ready, /health)",
       config::address_text(config.server.admin_host, facts.admin_port).c_str(),
       facts.admin_api ? "/admin/routes, " : "");
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  const bool threaded = curl->ares == nullptr && (curl->features & CURL_VERSION_ASYNCHDNS) != 0;
  line("upstream client: libcurl %s, %s, %s resolver (never blocks a loop: %s), HTTP/2: %s", curl->version,
       curl->ssl_version,
       curl->ares != nullptr ? "c-ares"
       : threaded            ? "threaded"
                             : "blocking",
       curl->ares != nullptr || threaded ? "yes" : "NO",
       (curl->features & CURL_VERSION_HTTP2) == 0 ? "none"
       : config::http2_refusal("http").empty()    ? "over TLS and h2c"
                                                  : "over TLS only");
  line("memory allocator: %s", process::memory_allocator().c_str());
  for (const auto &route : config.routes) {
    const char *method = route->takes_body ? "POST" : "GET";
    log.announce(std::string{"  "} + method + " " + route->path + "  (async)   " + method + " " + route->sync_path() +
                 "  (sync baseline)   " + method + " " + route->stream_path() + "  (stream)");
  }
}

}  // namespace agg::app
