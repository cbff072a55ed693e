#include "aggregator/config/load_config.hpp"

#include "aggregator/auth/jwt_verifier.hpp"
#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/cors_reader.hpp"
#include "aggregator/config/json_text.hpp"
#include "aggregator/config/origin_reader.hpp"
#include "aggregator/config/route_definition.hpp"
#include "aggregator/config/store_reader.hpp"
#include "aggregator/config/telemetry_reader.hpp"
#include "aggregator/text/character_rules.hpp"

#include <boost/json/value.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>

namespace agg::config {

namespace json = boost::json;

std::optional<log_config::level> parse_log_level(std::string_view text) {
  if (text == "debug") return log_config::level::debug;
  if (text == "info") return log_config::level::info;
  if (text == "warn") return log_config::level::warn;
  if (text == "error") return log_config::level::error;
  if (text == "off") return log_config::level::off;
  return std::nullopt;
}

std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const auto port = text::whole_number(text.substr(colon + 1), 0, 65535);
  if (!port) return std::nullopt;
  if (host.starts_with('[')) {  // [::1]: an IPv6 address, in brackets as in a URL (RFC 3986)
    if (!host.ends_with(']')) return std::nullopt;
    host = host.substr(1, host.size() - 2);
    in6_addr parsed{};
    if (::inet_pton(AF_INET6, std::string{host}.c_str(), &parsed) != 1) return std::nullopt;
  } else if (!text::made_of(host, ".-")) {
    return std::nullopt;
  }
  return std::pair{std::string{host}, static_cast<std::uint16_t>(*port)};
}

std::string listen_address_problem(std::string_view text) {
  std::string problem =
      "must be HOST:PORT: an IPv4 address, a host name, or an IPv6 address in brackets, e.g. 127.0.0.1:8080 or "
      "[::1]:8080";
  if (!text.starts_with('[') && std::count(text.begin(), text.end(), ':') > 1)
    problem += " (" + std::string{text} + " looks like an IPv6 address without its brackets)";
  return problem;
}

std::string address_text(std::string_view host, std::uint16_t port) {
  std::string text;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) text += '[';
  text += host;
  if (v6) text += ']';
  text += ':';
  text += std::to_string(port);
  return text;
}

namespace {

/// `key` as HOST:PORT into `host` and `port`.
void read_address(config_checker &c, const json::object &o, const std::string &path, const char *key, std::string &host,
                  std::uint16_t &port) {
  const auto text = c.text(o, path, key, false);
  if (!text) return;
  if (const auto address = parse_listen_address(*text)) {
    host = address->first;
    port = address->second;
  } else {
    c.fail(child(path, key), listen_address_problem(*text));
  }
}

/// A list of strings at `path`.
std::vector<std::string> read_strings(config_checker &c, const json::value &v, const std::string &path) {
  std::vector<std::string> out;
  const json::array *a = c.strings(v, path);
  if (a == nullptr) return out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    if (const json::string *s = (*a)[i].if_string())
      out.emplace_back(*s);
    else
      c.fail(element(path, i), "must be a string");
  }
  return out;
}

void read_compression(config_checker &c, const json::value &v, const std::string &path, compression_config &out) {
  const json::object *o =
      c.object(v, path, {"enabled", "min_bytes", "gzip_level", "br_level", "zstd_level", "encodings", "max_streams"});
  if (o == nullptr) return;
  c.boolean(*o, path, "enabled", out.enabled);
  c.integer(*o, path, "min_bytes", out.min_bytes, 0, 1LL << 30);
  c.integer(*o, path, "gzip_level", out.gzip_level, 1, 9);
  c.integer(*o, path, "br_level", out.br_level, 0, 11);
  c.integer(*o, path, "zstd_level", out.zstd_level, 1, 19);
  c.integer(*o, path, "max_streams", out.max_streams, 0, 1'000'000);
  if (const json::value *e = o->if_contains("encodings")) {
    out.encodings = read_strings(c, *e, child(path, "encodings"));
    for (std::size_t i = 0; i < out.encodings.size(); ++i)
      if (out.encodings[i] != "zstd" && out.encodings[i] != "br" && out.encodings[i] != "gzip")
        c.fail(element(child(path, "encodings"), i), "must be zstd, br or gzip");
  }
}

void read_server_tls(config_checker &c, const json::value &v, const std::string &path, server_tls_config &out) {
  const json::object *o =
      c.object(v, path, {"cert_file", "key_file", "client_ca_file", "min_version", "handshake_timeout_ms"});
  if (o == nullptr) return;
  out.cert_file = c.text(*o, path, "cert_file", true).value_or("");
  out.key_file = c.text(*o, path, "key_file", true).value_or("");
  out.client_ca_file = c.text(*o, path, "client_ca_file", false).value_or("");
  c.choice(*o, path, "min_version", {{"1.2", 0x0303}, {"1.3", 0x0304}}, out.min_version, "must be \"1.2\" or \"1.3\"");
  c.millis(*o, path, "handshake_timeout_ms", out.handshake_timeout, 1, 600'000);
}

void read_http2(config_checker &c, const json::value &v, const std::string &path, http2_config &out) {
  const json::object *o = c.object(v, path,
                                   {"enabled", "max_concurrent_streams", "max_header_list_bytes", "max_frame_bytes",
                                    "initial_window_bytes", "max_resets_per_s", "max_control_frames_per_s"});
  if (o == nullptr) return;
  c.boolean(*o, path, "enabled", out.enabled);
  c.integer(*o, path, "max_concurrent_streams", out.max_concurrent_streams, 1, 100'000);
  c.integer(*o, path, "max_header_list_bytes", out.max_header_list_bytes, 1024, 1 << 20);
  c.integer(*o, path, "max_frame_bytes", out.max_frame_bytes, 1 << 14, (1 << 24) - 1);
  c.integer(*o, path, "initial_window_bytes", out.initial_window_bytes, 1024, (1U << 31) - 1);
  c.integer(*o, path, "max_resets_per_s", out.max_resets_per_s, 1, 1'000'000);
  c.integer(*o, path, "max_control_frames_per_s", out.max_control_frames_per_s, 1, 1'000'000);
}

void read_server(config_checker &c, const json::value &v, server_config &out) {
  const std::string path = "server";
  const json::object *o = c.object(v, path,
                                   {"listen",
                                    "admin_listen",
                                    "threads",
                                    "admin_max_connections",
                                    "backlog",
                                    "max_connections",
                                    "max_aggregations",
                                    "max_unsent_bytes",
                                    "sync_threads",
                                    "sync_queue",
                                    "request_timeout_ms",
                                    "keep_alive_timeout_ms",
                                    "send_timeout_ms",
                                    "shutdown_grace_ms",
                                    "start_traces",
                                    "max_hops",
                                    "cors",
                                    "compression",
                                    "tls",
                                    "http2"});
  if (o == nullptr) return;
  read_address(c, *o, path, "listen", out.host, out.port);
  read_address(c, *o, path, "admin_listen", out.admin_host, out.admin_port);
  c.integer(*o, path, "threads", out.threads, 1, 20'000);
  c.integer(*o, path, "admin_max_connections", out.admin_max_connections, 1, 10'000);
  c.integer(*o, path, "backlog", out.backlog, 1, 65'535);
  c.integer(*o, path, "max_connections", out.max_connections, 1, 1'000'000);
  c.integer(*o, path, "max_aggregations", out.max_aggregations, 1, 1'000'000);
  c.integer(*o, path, "max_unsent_bytes", out.max_unsent_bytes, 1 << 16, std::size_t{1} << 40);
  c.integer(*o, path, "sync_threads", out.sync_threads, 1, 10'000);
  c.integer(*o, path, "sync_queue", out.sync_queue, 0, 1'000'000);
  c.millis(*o, path, "request_timeout_ms", out.request_timeout, 1, 3'600'000);
  c.millis(*o, path, "keep_alive_timeout_ms", out.keep_alive_timeout, 1, 3'600'000);
  c.millis(*o, path, "send_timeout_ms", out.send_timeout, 1, 3'600'000);
  c.millis(*o, path, "shutdown_grace_ms", out.shutdown_grace, 0, 3'600'000);
  c.boolean(*o, path, "start_traces", out.start_traces);
  c.integer(*o, path, "max_hops", out.max_hops, 1, 100);
  if (const json::value *cors = o->if_contains("cors")) read_cors(c, *cors, child(path, "cors"), out.cors.emplace());
  if (const json::value *compression = c.section(*o, "compression"))
    read_compression(c, *compression, child(path, "compression"), out.compression);
  if (const json::value *tls = o->if_contains("tls")) read_server_tls(c, *tls, child(path, "tls"), out.tls.emplace());
  if (const json::value *http2 = c.section(*o, "http2")) read_http2(c, *http2, child(path, "http2"), out.http2);
}

void read_log(config_checker &c, const json::value &v, log_config &out) {
  const std::string path = "log";
  const json::object *o = c.object(v, path, {"level", "format"});
  if (o == nullptr) return;
  using level = log_config::level;
  c.choice(*o, path, "level",
           {{"debug", level::debug},
            {"info", level::info},
            {"warn", level::warn},
            {"error", level::error},
            {"off", level::off}},
           out.threshold, "must be debug, info, warn, error or off");
  c.choice(*o, path, "format", {{"text", false}, {"json", true}}, out.json, "must be text or json");
}

void read_client(config_checker &c, const json::value &v, client::client_options &out) {
  const std::string path = "client";
  const json::object *o = c.object(v, path,
                                   {"loops", "shards_per_loop", "max_connections", "connect_timeout_ms", "pool_idle_ms",
                                    "receive_buffer_bytes", "max_connections_per_origin", "ca_file", "origins"});
  if (o == nullptr) return;
  out.ca_file = c.text(*o, path, "ca_file", false).value_or("");
  if (const json::value *origins = o->if_contains("origins"))
    read_origins(c, *origins, child(path, "origins"), out.origins);
  c.integer(*o, path, "max_connections_per_origin", out.max_connections_per_origin, 0, 1'000'000);
  c.integer(*o, path, "loops", out.loops, 0, 64);
  c.integer(*o, path, "shards_per_loop", out.shards_per_loop, 1, 1024);
  c.integer(*o, path, "max_connections", out.max_connections, 1, 1'000'000);
  c.millis(*o, path, "connect_timeout_ms", out.connect_timeout, 1, 600'000);
  c.millis(*o, path, "pool_idle_ms", out.pool_idle_timeout, 0, 3'600'000);
  // libcurl's bounds (CURL_MAX_READ_SIZE is 512 KiB)
  c.integer(*o, path, "receive_buffer_bytes", out.receive_buffer_bytes, 1'024, 524'288);
}

void read_jwt(config_checker &c, const json::value &v, jwt_config &out) {
  const std::string path = "auth.jwt";
  const json::object *o = c.object(v, path,
                                   {"issuer", "audiences", "jwks_file", "jwks_url", "secret_file", "algorithms",
                                    "leeway_s", "cache_entries", "refresh_s", "refresh_min_s"});
  if (o == nullptr) return;
  out.issuer = c.text(*o, path, "issuer", false).value_or("");
  out.jwks_file = c.text(*o, path, "jwks_file", false).value_or("");
  out.jwks_url = c.text(*o, path, "jwks_url", false).value_or("");
  out.secret_file = c.text(*o, path, "secret_file", false).value_or("");
  if (const json::value *a = o->if_contains("audiences")) out.audiences = read_strings(c, *a, child(path, "audiences"));
  if (const json::value *a = o->if_contains("algorithms")) {
    out.algorithms = read_strings(c, *a, child(path, "algorithms"));
    if (out.algorithms.empty()) c.fail(child(path, "algorithms"), "must name at least one algorithm");
  }
  long long leeway = out.leeway.count();
  c.integer(*o, path, "leeway_s", leeway, 0, 3'600);
  out.leeway = std::chrono::seconds{leeway};
  c.integer(*o, path, "cache_entries", out.cache_entries, 1, 10'000'000);
  if (out.jwks_url.empty()) {
    if (o->contains("refresh_s") || o->contains("refresh_min_s"))
      c.fail(path, "refresh_s and refresh_min_s apply to a jwks_url");
  } else {
    long long refresh = out.refresh.count();
    long long refresh_min = out.refresh_min.count();
    c.integer(*o, path, "refresh_s", refresh, 1, 86'400);
    c.integer(*o, path, "refresh_min_s", refresh_min, 1, 86'400);
    out.refresh = std::chrono::seconds{refresh};
    out.refresh_min = std::chrono::seconds{refresh_min};
  }
  bool hmac = false;
  bool public_keys = false;
  for (std::size_t i = 0; i < out.algorithms.size(); ++i) {
    const std::string &alg = out.algorithms[i];
    if (alg == "none")
      c.fail(element(child(path, "algorithms"), i), "none can never be allowed: tokens must be signed");
    else if (!auth::is_signature_algorithm(alg))
      c.fail(element(child(path, "algorithms"), i),
             "must be one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 HS256 HS384 HS512");
    (auth::is_hmac_algorithm(alg) ? hmac : public_keys) = true;
  }
  if (hmac && public_keys)
    c.fail(child(path, "algorithms"),
           "mixes HMAC (HS*) with public-key algorithms: a public key could then serve as an HMAC secret "
           "(key confusion); use one kind");
  const int key_sources = !out.jwks_file.empty() + !out.jwks_url.empty();
  if (key_sources > 1) c.fail(path, "give jwks_file or jwks_url, not both");
  if (hmac && key_sources > 0) c.fail(path, "HMAC algorithms take secret_file (or AGGREGATOR_JWT_SECRET), not a JWKS");
  if (public_keys && key_sources == 0) c.fail(path, "needs jwks_file or jwks_url for its public keys");
  if (!hmac && !out.secret_file.empty()) c.fail(child(path, "secret_file"), "only serves HMAC (HS*) algorithms");
  if (!out.jwks_url.empty() && !out.jwks_url.starts_with("https://"))
    c.fail(child(path, "jwks_url"), "must be an https:// URL (keys fetched in the clear could be anyone's)");
}

void read_auth(config_checker &c, const json::value &v, auth_config &out) {
  const json::object *o = c.object(v, "auth", {"admin_token_file", "client_token_file", "jwt", "api_keys_file"});
  if (o == nullptr) return;
  out.admin_token_file = c.text(*o, "auth", "admin_token_file", false).value_or("");
  out.client_token_file = c.text(*o, "auth", "client_token_file", false).value_or("");
  out.api_keys_file = c.text(*o, "auth", "api_keys_file", false).value_or("");
  if (const json::value *jwt = o->if_contains("jwt")) read_jwt(c, *jwt, out.jwt.emplace());
}

}  // namespace

service_config read_document(config_checker &c, const json::value &document, const environment_lookup &environment) {
  service_config config;
  const json::object *root =
      c.object(document, "", {"$schema", "server", "client", "log", "jobs", "auth", "telemetry", "store", "routes"});
  if (root == nullptr) return config;
  // Each section is read from a copy with the environment's values in, when it names any: the
  // document keeps what was written, to be saved back as it was (the routes expand their own).
  std::deque<std::optional<json::value>> expanded;
  // `defaults`: a section every key of which has a default (config print shows it whole when absent).
  const auto section = [&](std::string_view name, bool defaults = true) -> const json::value * {
    const json::value *v = defaults ? c.section(*root, name) : root->if_contains(name);
    return v == nullptr ? nullptr : with_environment(*v, std::string{name}, environment, c, expanded.emplace_back());
  };
  c.text(*root, "", "$schema", false);
  if (const json::value *v = section("jobs")) {
    if (const json::object *o =
            c.object(*v, "jobs", {"max", "keep_finished_ms", "max_bytes", "max_per_client", "lease_ms"})) {
      c.integer(*o, "jobs", "max", config.jobs.max_jobs, 1, 1'000'000);
      c.integer(*o, "jobs", "max_per_client", config.jobs.max_per_client, 1, 1'000'000);
      c.integer(*o, "jobs", "max_bytes", config.jobs.max_bytes, 1, 1LL << 40);
      c.millis(*o, "jobs", "keep_finished_ms", config.jobs.keep_finished, 1, 7 * 24 * 3'600'000LL);
      c.millis(*o, "jobs", "lease_ms", config.jobs.lease, 300, 3'600'000);
    }
  }
  if (const json::value *v = section("server")) read_server(c, *v, config.server);
  if (const json::value *v = section("log")) read_log(c, *v, config.log);
  if (const json::value *v = section("client")) read_client(c, *v, config.client);
  if (const json::value *v = section("auth")) read_auth(c, *v, config.auth);
  if (const json::value *v = section("telemetry", false)) read_telemetry(c, *v, config.telemetry.emplace());
  if (const json::value *v = section("store", false)) read_store(c, *v, config.store);
  if (const json::value *v = c.required(*root, "", "routes")) read_routes(c, *v, config.routes, environment);
  return config;
}

std::variant<config_document, config_errors> parse_config_document(std::string_view json_text,
                                                                   const environment_lookup &environment) {
  auto parsed = parse_json_text(json_text);
  if (auto *error = std::get_if<config_error>(&parsed)) return config_errors{std::move(*error)};
  json::value &document = std::get<json::value>(parsed);
  config_checker c;
  service_config config = read_document(c, document, environment);
  if (!c.errors.empty()) return std::move(c.errors);
  return config_document{std::move(config), std::move(document)};
}

std::variant<service_config, config_errors> parse_config(std::string_view json_text,
                                                         const environment_lookup &environment) {
  auto parsed = parse_config_document(json_text, environment);
  if (auto *errors = std::get_if<config_errors>(&parsed)) return std::move(*errors);
  return std::get<config_document>(std::move(parsed)).config;
}

std::optional<std::string> read_config_text(const std::string &file) {
  // Sized once from the file's length (a config of thousands of routes is megabytes: growing a
  // stream's buffer would copy it over and over), then whatever a writer appended meanwhile.
  std::ifstream in{file, std::ios::binary | std::ios::ate};
  if (!in) return std::nullopt;
  const auto length = in.tellg();
  if (length < 0 || !in.seekg(0)) return std::nullopt;
  std::string text(static_cast<std::size_t>(length), '\0');
  in.read(text.data(), length);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return std::nullopt;
  if (in) {
    std::ostringstream rest;
    rest << in.rdbuf();
    if (in.bad()) return std::nullopt;
    text += std::move(rest).str();
  }
  return text;
}

std::variant<config_document, config_errors> load_config_document(const std::string &file) {
  const auto text = read_config_text(file);
  if (!text) return config_errors{{"", "cannot read config file " + file}};
  return parse_config_document(*text);
}

std::variant<service_config, config_errors> load_config_file(const std::string &file) {
  auto loaded = load_config_document(file);
  if (auto *errors = std::get_if<config_errors>(&loaded)) return std::move(*errors);
  return std::get<config_document>(std::move(loaded)).config;
}

}  // namespace agg::config
