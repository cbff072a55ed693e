// Every key the config loader reads, in every form it takes: the readers note their shapes while
// reading these, and that is `aggregator config schema` (a key missing here has an empty schema,
// which tests/config/config_schema_test.cpp refuses). The values need not make a valid config.

#include "aggregator/config/config_schema.hpp"

namespace agg::config {

std::string_view config_exemplar() noexcept {
  return R"json([
{
  "$schema": "./config.schema.json",
  "server": {
    "listen": "127.0.0.1:8080", "admin_listen": "127.0.0.1:9090", "threads": 4, "admin_max_connections": 64,
    "backlog": 1024, "max_connections": 10000, "max_aggregations": 10000, "max_unsent_bytes": 1048576,
    "sync_threads": 8, "sync_queue": 64, "request_timeout_ms": 30000, "keep_alive_timeout_ms": 5000,
    "send_timeout_ms": 10000, "shutdown_grace_ms": 5000, "start_traces": true, "max_hops": 8,
    "cors": {"allow_origins": ["https://app.example.com"], "allow_methods": ["GET"], "allow_headers": ["X-Id"],
             "expose_headers": ["X-Id"], "allow_credentials": false, "max_age_s": 600},
    "compression": {"enabled": true, "min_bytes": 1024, "gzip_level": 6, "br_level": 4, "zstd_level": 3,
                    "encodings": ["zstd", "br", "gzip"], "max_streams": 256},
    "tls": {"cert_file": "server.pem", "key_file": "server.key", "client_ca_file": "clients-ca.pem",
            "min_version": "1.2", "handshake_timeout_ms": 10000},
    "http2": {"enabled": true, "max_concurrent_streams": 100, "max_header_list_bytes": 16384, "max_frame_bytes": 16384,
              "initial_window_bytes": 65535, "max_resets_per_s": 100, "max_control_frames_per_s": 100}
  },
  "client": {
    "loops": 2, "shards_per_loop": 1, "max_connections": 1000, "connect_timeout_ms": 1000, "pool_idle_ms": 30000,
    "receive_buffer_bytes": 4096,
    "max_connections_per_origin": 0, "ca_file": "ca.pem",
    "origins": {"https://api.example.com": {"tls": {"ca_file": "ca.pem", "cert_file": "c.pem", "key_file": "k.pem",
                                                    "server_name": "api.example.com", "verify": true},
                                            "http": "1.1", "compression": true}}
  },
  "log": {"level": "info", "format": "text"},
  "jobs": {"max": 1000, "keep_finished_ms": 600000, "max_bytes": 1048576, "max_per_client": 100, "lease_ms": 5000},
  "auth": {
    "admin_token_file": "admin.token", "client_token_file": "client.token", "api_keys_file": "keys.json",
    "jwt": {"issuer": "https://issuer.example.com", "audiences": ["api"], "jwks_file": "jwks.json",
            "jwks_url": "https://issuer.example.com/jwks", "secret_file": "secret", "algorithms": ["RS256"],
            "leeway_s": 30, "cache_entries": 10000, "refresh_s": 300, "refresh_min_s": 30}
  },
  "telemetry": {"otlp_endpoint": "http://127.0.0.1:4318", "service_name": "aggregator", "sample_ratio": 1.0,
                "headers": {"X-Api-Key": "k"}, "timeout_ms": 10000, "max_queue": 2048, "batch": 512,
                "interval_ms": 1000},
  "store": {"redis_url": "redis://127.0.0.1:6379/0", "password_file": "redis.password", "timeout_ms": 250,
            "key_prefix": "agg:", "ready_without_redis": true, "on_failure": "local"},
  "routes": [
    {
      "name": "all", "path": "/api/all", "message": "m", "num": {"default": 2, "max": 10},
      "params": {"q": {"default": "x", "max_length": 64}}, "timeout_ms": 1000, "deadline_ms": 2000,
      "max_body_bytes": 1048576, "max_response_bytes": 8388608, "max_calls": 100, "accept_non_json": false,
      "partial_status": 200, "forward_headers": ["X-Id"], "concurrency": 10,
      "retry": {"attempts": 2, "backoff_ms": 50, "on": ["connect"],
                "budget": {"ratio": 0.2, "min_per_second": 10, "window_ms": 10000}},
      "hedge": {"after_ms": 100, "after": "p95", "max_extra": 1},
      "breaker": {"failures": 5, "ratio": 0.5, "min_calls": 20, "window_ms": 10000, "open_ms": 5000},
      "cache": {"ttl_ms": 1000, "max_bytes": 1048576, "honor_cache_control": true, "stale_if_error_ms": 0,
                "shared": false},
      "coalesce": true, "merge": "keyed", "max_request_body_bytes": 65536,
      "access": {"require": "jwt", "claims": {"scope": "read"}}, "claims_to_headers": {"X-User": "/sub"},
      "rate_limit": {"key": "client", "requests_per_s": 10, "burst": 20, "calls_per_s": 100, "burst_calls": 200,
                     "max_keys": 10000},
      "cors": {"allow_origins": ["*"], "allow_methods": ["GET"], "allow_headers": ["X-Id"], "expose_headers": ["X-Id"],
               "allow_credentials": false, "max_age_s": 600},
      "upstreams": [
        {"name": "a", "url": "http://127.0.0.1:9000/items/{i}", "repeat": true, "required": true,
         "retry": {"attempts": 2, "backoff_ms": 50, "on": ["timeout"],
                   "budget": {"ratio": 0.2, "min_per_second": 10, "window_ms": 10000}},
         "hedge": {"after_ms": 100, "after": "p99", "max_extra": 1},
         "breaker": {"failures": 5, "ratio": 0.5, "min_calls": 20, "window_ms": 10000, "open_ms": 5000},
         "cache": {"ttl_ms": 1000, "max_bytes": 1048576, "honor_cache_control": true, "stale_if_error_ms": 0,
                   "shared": false},
         "coalesce": {"across_replicas": true}, "method": "GET", "headers": {"Authorization": "Bearer x"},
         "select": "/data", "allow": ["/id"], "deny": ["/secret"], "rename": {"/a": "/b"},
         "return_headers": ["ETag"], "idempotent": true},
        {"name": "b", "url": "http://127.0.0.1:9000/x/{item}", "method": "POST", "body": {"ids": "{items}"},
         "forward_body": false, "for_each": "a.body#/items/*/id", "max_items": 10, "batch": {"size": 5, "join": ","}}
      ]
    },
    {
      "name": "mtls", "path": "/api/mtls", "access": {"require": "client_cert", "client_subjects": ["CN=reports"]},
      "coalesce": {"across_replicas": true}, "upstreams": [{"url": "http://127.0.0.1:9000/", "coalesce": false}]
    },
    {
      "name": "off", "path": "/api/off", "retry": false, "hedge": false, "breaker": false, "cache": false,
      "upstreams": [{"url": "http://127.0.0.1:9000/", "retry": false, "hedge": false, "breaker": false, "cache": false}]
    }
  ]
}
])json";
}

}  // namespace agg::config
