#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregator/client/client_options.hpp"
#include "aggregator/config/call_policy.hpp"
#include "aggregator/config/text_template.hpp"
#include "aggregator/config/url_template.hpp"

namespace agg::config {

/// How an entry's body is cut down as it arrives, in this order: `select` takes the value at a
/// JSON Pointer, `allow` keeps only the values at its pointers, `deny` removes those at its
/// pointers, `rename` moves a value from one pointer to another. A pointer that finds nothing gives
/// null (for select) or nothing, and a note in the entry; a required entry fails instead.
struct body_shape {
  std::optional<std::string> select;
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  std::vector<std::pair<std::string, std::string>> rename;  ///< from, to
  [[nodiscard]] bool empty() const noexcept { return !select && allow.empty() && deny.empty() && rename.empty(); }
};

/// The methods an entry may call with.
enum class http_method { get, post, put, patch, del };
std::string_view to_string(http_method method) noexcept;
/// POST and PATCH: a retry or a hedge could do twice what was asked once.
constexpr bool is_idempotent(http_method method) noexcept {
  return method != http_method::post && method != http_method::patch;
}

/// A for-each entry's batching: up to `size` values in one call, `{item}` their texts joined by
/// `join` and `{items}` their JSON array.
struct batch_spec {
  std::size_t size = 50;
  std::string join = ",";
};

/// One entry of a route's upstream list: a fixed URL, a template repeated `num` times with `{i}` =
/// 0, 1, ... num-1, or one call per value another entry's body holds (`for_each`). Named entries
/// appear in the response's `data` and can lend values to other entries' URLs, headers and bodies
/// (`{user.body#/id}`): such an entry starts once every entry it uses has finished.
struct upstream_entry {
  url_template url;
  bool repeat = false;
  bool required = false;  ///< the aggregate fails (502/504) when this call fails
  call_policy policy;     ///< the route's, with what the entry sets itself in place of it
  std::string name;       ///< empty when unnamed
  http_method method = http_method::get;
  std::optional<boost::json::value> body;   ///< a JSON template: a string that is one slot takes the value's type
  std::vector<text_template> body_strings;  ///< the body's strings, parsed once, in the order a walk of it meets them
  bool forward_body = false;                ///< send the client's request body instead
  std::vector<std::pair<std::string, text_template>> headers;  ///< request header templates
  body_shape shape;
  std::optional<template_slot> for_each;  ///< a reference whose pointer may hold `*` (every element)
  std::size_t max_items = 100;            ///< for_each: more values than this fail the entry
  std::optional<batch_spec> batch;
  std::vector<std::string> return_headers;  ///< response headers kept in the entry (an allow-list)
  std::vector<std::size_t> uses;            ///< the entries (by index) whose values it takes

  /// Its named value is an array (one element per call) rather than one body.
  [[nodiscard]] bool multiple() const noexcept { return repeat || for_each.has_value(); }
  /// Planned only once the entries it uses have finished.
  [[nodiscard]] bool chained() const noexcept { return !uses.empty(); }
};

/// How a route's named results make up the response's `data`: one member per name (keyed), the
/// members of every named object merged in config order with conflicts reported (shallow), or no
/// `data` at all (none).
enum class merge_mode { none, keyed, shallow };

/// The bounds of the `num` query parameter of a route with repeated entries.
struct count_limits {
  std::size_t default_count = 10;
  std::size_t max_count = 1000;
};

/// A query parameter a route accepts and its templates use as `{name}`.
struct param_spec {
  std::optional<std::string> default_value;  ///< none: the parameter is required
  std::size_t max_length = 256;
  std::size_t position = 0;  ///< where the config declares it, for what lists the parameters (`GET /`, the page)
};

/// Which credential a route's requests need (route `access.require`): a verified JWT, an API key,
/// any credential the service knows (the client token included), a client certificate the TLS
/// handshake verified against `server.tls.client_ca_file`, or none.
enum class credential_need { none, jwt, api_key, any, client_cert };

/// Who may call a route: a credential of the kind `require` names, whose JWT claims hold `claims`
/// (or whose certificate's subject is one of `client_subjects`)
/// (`scope` and other space-separated lists: contains the value; arrays: contains it; else equal).
/// Unset on a route that says nothing: `any` when the service has some credential configured,
/// else `none`.
struct access_policy {
  credential_need require = credential_need::any;
  std::vector<std::pair<std::string, std::string>> claims;
  /// With `client_cert`: the certificate subjects (RFC 2253, e.g. `CN=reports,O=Example`) it takes;
  /// empty: any certificate the client CA signed.
  std::vector<std::string> client_subjects;
};

/// What a route's rate limit counts requests by: the caller's identity (JWT `sub`, API key name,
/// else the address), the address, the route as a whole, or a request header's value.
enum class limit_key { client, ip, route, header };

/// A route's rate limit (GCRA, per key): `requests_per_s` with bursts of `burst`, and with
/// `calls_per_s` each request charged the upstream calls its plan makes (bursts of `burst_calls`).
/// Up to `max_keys` keys are tracked; past it the least recently seen is forgotten.
struct rate_limit_policy {
  limit_key key = limit_key::client;
  std::string header;         ///< for limit_key::header
  double requests_per_s = 0;  ///< 0: requests are not limited (only calls)
  double burst = 0;
  double calls_per_s = 0;  ///< 0: calls are not limited
  double burst_calls = 0;
  std::size_t max_keys = 100'000;
};

/// Which browser pages on other origins may call the service (CORS): `server.cors`, or a route's
/// `cors`, which replaces it. Origins are exact (`https://app.example.com`), a pattern for the
/// subdomains of one (`https://*.example.com`), or `*` (only without credentials). The lists are
/// kept as the header values they become.
struct cors_policy {
  std::vector<std::string> exact_origins;
  std::vector<std::pair<std::string, std::string>> origin_patterns;  ///< what comes before and after the `*`
  bool any_origin = false;                                           ///< `*`
  std::string allow_methods;                                         ///< empty: the methods the endpoint takes
  std::string allow_headers = "Authorization, Content-Type, X-API-Key, traceparent, tracestate, X-Request-Id";
  std::string expose_headers = "Server-Timing, X-Request-Id, traceresponse, X-Aggregate-Complete";
  bool allow_credentials = false;
  std::chrono::seconds max_age{600};
};

/// One aggregated endpoint: served async at `path`, as the sync baseline at `path + "_sync"`, and
/// streaming its results as they arrive at `path + "/stream"`. Immutable once loaded: shared by the
/// route table and by every request planned from it (see route_ptr).
struct route_config {
  std::string name;
  std::string path;
  std::string message;
  std::optional<count_limits> num;  ///< present exactly when an entry repeats
  std::map<std::string, param_spec, std::less<>> params;
  std::chrono::milliseconds timeout{10'000};   ///< per upstream call
  std::chrono::milliseconds deadline{30'000};  ///< per aggregation: what is unfinished then is cut off
  std::size_t max_body_bytes = 1 << 20;        ///< per upstream body
  std::size_t max_response_bytes = 16 << 20;   ///< all of an aggregation's bodies together; past it `too_large`
  std::size_t max_calls = 2'000;               ///< calls one aggregation may make, whatever its entries expand to
  bool accept_non_json = false;                ///< keep a non-JSON 2xx body as a string instead of failing it
  int partial_status = 200;                    ///< status when some (not required) upstreams failed
  std::vector<std::string> forward_headers;    ///< request headers passed on to upstreams, by name
  std::size_t concurrency = 0;                 ///< at most this many of an aggregation's calls at once; 0: all
  call_policy policy;                          ///< for every entry that sets none of its own
  std::vector<upstream_entry> upstreams;
  merge_mode merge = merge_mode::none;            ///< keyed by default when an entry has a name
  bool takes_body = false;                        ///< an entry forwards or reads the client's JSON body: POST
  std::size_t max_request_body_bytes = 64 << 10;  ///< of that body
  std::vector<std::size_t> order;                 ///< the entries in a dependency order (config order first)
  bool composed = false;                          ///< some entry is chained: the plan is a graph
  std::optional<access_policy> access;            ///< who may call it (see access_policy)
  std::vector<std::pair<std::string, std::string>> claims_to_headers;  ///< header name, JSON Pointer into the claims
  std::optional<rate_limit_policy> rate_limit;
  std::optional<cors_policy> cors;  ///< in place of server.cors
  boost::json::object definition;   ///< the JSON it was read from: what the admin API shows, patches and saves

  [[nodiscard]] std::string sync_path() const { return path + "_sync"; }
  [[nodiscard]] std::string stream_path() const { return path + "/stream"; }
};

/// A route as requests hold it: a route changed or deleted while requests use it lives until they end.
using route_ptr = std::shared_ptr<const route_config>;

/// Compression of the data plane's answers (`server.compression`), by the client's Accept-Encoding:
/// answers of at least `min_bytes` and of a compressible type, and streams from their first line.
struct compression_config {
  bool enabled = true;
  std::size_t min_bytes = 1024;  ///< smaller answers go as they are: the coding would cost more than it saves
  int gzip_level = 6;            ///< zlib's 1-9
  int br_level = 4;              ///< Brotli's 0-11 (its 11 is for static files, far too slow here)
  int zstd_level = 3;            ///< zstd's 1-19
  std::vector<std::string> encodings{"zstd", "br", "gzip"};  ///< those offered
  /// Streams compressed at once; past it a stream goes as it is. Each holds its encoder (at most
  /// about 0.5 MB) for as long as it lasts: this bounds what slow streams can pin.
  std::size_t max_streams = 256;
};

/// TLS on the data plane (`server.tls`): the certificate chain and key it presents, and, with
/// `client_ca_file`, client certificates it asks for and verifies (mutual TLS; a route's
/// `access.require: "client_cert"` then needs one). Files are absolute once loaded (relative ones are
/// in the config's directory) and read again on SIGHUP.
struct server_tls_config {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  ///< empty: no client certificates asked for
  int min_version = 0x0303;    ///< TLS1_2_VERSION, or 0x0304 (TLS 1.3): `min_version` "1.2" or "1.3"
  std::chrono::milliseconds handshake_timeout{10'000};  ///< `handshake_timeout_ms`: accept to a finished handshake
};

/// HTTP/2 toward clients (`server.http2`): `h2` chosen by ALPN on a TLS listener, h2c with prior
/// knowledge on a cleartext one. Each stream is one request through the same filter chain. The
/// limits are what the server's SETTINGS announce, and what it holds a client to.
struct http2_config {
  bool enabled = true;
  std::uint32_t max_concurrent_streams = 100;     ///< SETTINGS_MAX_CONCURRENT_STREAMS
  std::size_t max_header_list_bytes = 16 * 1024;  ///< SETTINGS_MAX_HEADER_LIST_SIZE; past it 431
  std::uint32_t max_frame_bytes = 16 * 1024;      ///< SETTINGS_MAX_FRAME_SIZE (16 KiB to 16 MiB)
  std::uint32_t initial_window_bytes =
      65'535;  ///< SETTINGS_INITIAL_WINDOW_SIZE (the protocol's default): a request body's window
  /// Streams a client resets before their answer is complete, per second (twice as many at once);
  /// past it the connection gets GOAWAY (ENHANCE_YOUR_CALM): the rapid reset attack (CVE-2023-44487).
  std::uint32_t max_resets_per_s = 100;
  /// SETTINGS and PING frames a client sends per second (twice as many at once); past it GOAWAY.
  std::uint32_t max_control_frames_per_s = 100;
};

/// Where and how the service listens: the data plane (aggregations, jobs, probes) on `listen`, the
/// control plane (admin API, metrics, probes) on `admin_listen`.
struct server_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string admin_host = "127.0.0.1";  ///< the control plane: never the public port by default
  std::uint16_t admin_port = 8081;
  std::size_t threads = 8;  ///< control-plane workers: one per admin connection being served
  /// Control-plane connections held at once, served or waiting for a worker; past it a new one is
  /// closed at once (the control plane's share of the descriptors).
  std::size_t admin_max_connections = 64;
  int backlog = 4096;
  std::size_t max_connections = 4096;   ///< data-plane client connections; past it new ones are closed at once
  std::size_t max_aggregations = 2000;  ///< concurrent aggregations; past it 503 + Retry-After at once
  /// Answer bytes waiting for slow clients to read them, all connections together; past it new
  /// requests get 503 + Retry-After at once (probes still answer).
  std::size_t max_unsent_bytes = 256 << 20;
  std::size_t sync_threads = 64;  ///< threads running sync-baseline aggregations
  std::size_t sync_queue = 1024;  ///< sync-baseline aggregations waiting for a thread; past it 503
  std::chrono::milliseconds request_timeout{
      10'000};  ///< a request's first byte to its last; a new connection's first byte
  std::chrono::milliseconds keep_alive_timeout{
      30'000};                                       ///< an idle keep-alive connection waits this long for a request
  std::chrono::milliseconds send_timeout{30'000};    ///< an answer the client does not read for this long is dropped
  std::chrono::milliseconds shutdown_grace{10'000};  ///< in-flight requests' time to finish on SIGTERM
  bool start_traces = true;         ///< a request without a valid traceparent starts a W3C trace of its own
  unsigned max_hops = 5;            ///< a request that passed through this many aggregators is refused (508)
  std::optional<cors_policy> cors;  ///< none: no CORS headers, preflights are 405
  compression_config compression;
  std::optional<server_tls_config> tls;  ///< none: the data plane speaks cleartext HTTP
  http2_config http2;
};

/// What the service logs to stderr: one access line per request at `info`, plus its own events.
struct log_config {
  enum class level { debug, info, warn, error, off };
  level threshold = level::info;
  bool json = false;  ///< one JSON object per line instead of text
};

/// Background jobs (POST /api/jobs): how many the instance keeps and how long finished ones stay.
struct jobs_config {
  std::size_t max_jobs = 1000;
  std::chrono::milliseconds keep_finished{300'000};
  std::size_t max_bytes = 256 << 20;  ///< what the kept jobs' results hold together (estimated)
  std::size_t max_per_client = 100;   ///< jobs one client (its address) holds, running and kept
  /// With a store: how long a replica's jobs outlive its last sign of life (it renews the lease
  /// every third of it); past it, a job it was running reads as `lost`.
  std::chrono::milliseconds lease{5000};
};

/// JWT validation (`auth.jwt`): whose tokens, signed how, checked with which keys. Public keys come
/// from `jwks_file`; an HMAC secret (HS* algorithms only) from `secret_file` or AGGREGATOR_JWT_SECRET,
/// never beside public keys.
struct jwt_config {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string jwks_file;
  std::string jwks_url;
  std::string secret_file;
  std::vector<std::string> algorithms{"RS256", "ES256"};
  std::chrono::seconds leeway{30};
  std::size_t cache_entries = 10'000;    ///< verified tokens remembered until they expire
  std::chrono::seconds refresh{300};     ///< `refresh_s`: a jwks_url is fetched again this often
  std::chrono::seconds refresh_min{30};  ///< `refresh_min_s`: and never more often, whatever asks
};

/// Where the credentials come from (see access_tokens.hpp and auth/); never the credentials themselves.
struct auth_config {
  std::string admin_token_file;   ///< enables the admin API; or AGGREGATOR_ADMIN_TOKEN
  std::string client_token_file;  ///< when set, aggregations need a token too; or AGGREGATOR_CLIENT_TOKEN
  std::optional<jwt_config> jwt;
  std::string api_keys_file;  ///< `name sha256:<hex>` lines
};

/// OpenTelemetry traces over OTLP/HTTP (`telemetry`): a server span per request, a client span per
/// upstream call, batched and sent as JSON to `<otlp_endpoint>/v1/traces` by the service's own client.
struct telemetry_config {
  std::string otlp_endpoint;  ///< the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
  std::string service_name = "aggregator";
  double sample_ratio = 1.0;  ///< of the traces that start here; a caller's traceparent decides for its own
  std::vector<std::pair<std::string, std::string>> headers;  ///< sent with each export (an API key)
  std::chrono::milliseconds timeout{10'000};                 ///< one export's time limit
  std::size_t max_queue = 2048;  ///< spans waiting to be sent; past it new ones are dropped (and counted)
  std::size_t batch = 512;       ///< this many spans waiting are sent at once (an export takes all that wait)
  std::chrono::milliseconds interval{1'000};  ///< what waits is sent at least this often

  /// `<otlp_endpoint>/v1/traces`.
  [[nodiscard]] std::string traces_url() const {
    return (otlp_endpoint.ends_with('/') ? otlp_endpoint.substr(0, otlp_endpoint.size() - 1) : otlp_endpoint) +
           "/v1/traces";
  }
};

/// State shared across replicas (`store`): where the Redis server is and what a replica does
/// without it. Without `redis_url` everything stays per instance.
struct store_config {
  std::string redis_url;      ///< `redis://[user:password@]host:port/db` as written
  std::string host;           ///< from redis_url
  std::uint16_t port = 6379;  ///< from redis_url
  std::string user;           ///< from redis_url (Redis 6 ACL user); empty: the default user
  std::string password;       ///< from redis_url, else password_file, else AGGREGATOR_REDIS_PASSWORD
  std::string password_file;
  int db = 0;                                        ///< from redis_url's path
  std::chrono::milliseconds timeout{250};            ///< every round trip (and a connect) gets this long
  std::string key_prefix = "agg:";                   ///< every key the service writes starts with it
  bool ready_without_redis = true;                   ///< /ready answers 200 while Redis is unreachable
  enum class on_failure { local, deny };             ///< what a rate limit does while Redis is unreachable
  on_failure limits_on_failure = on_failure::local;  ///< `on_failure`: fall back to the replica's own, or 503

  [[nodiscard]] bool enabled() const noexcept { return !redis_url.empty(); }
};

/// The whole validated configuration; immutable once loaded.
struct service_config {
  server_config server;
  client::client_options client;
  log_config log;
  jobs_config jobs;
  auth_config auth;
  std::optional<telemetry_config> telemetry;  ///< none: no spans are recorded or sent
  store_config store;
  std::vector<route_ptr> routes;
};

}  // namespace agg::config
