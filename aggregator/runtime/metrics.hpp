#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace agg::stages {
class shared_state;
}

namespace agg::runtime {

/// What the service's links to Redis (`store`) counted together.
struct redis_counts {
  std::size_t links = 0;          ///< one per loop
  std::size_t links_up = 0;       ///< of them, up and answering
  std::uint64_t replies = 0;      ///< commands answered (error replies included)
  std::uint64_t timeouts = 0;     ///< commands that met store.timeout_ms (their connection dropped)
  std::uint64_t unavailable = 0;  ///< commands not sent: Redis was down
  std::uint64_t lost = 0;         ///< commands whose connection went away first
  std::uint64_t connects = 0;     ///< connections that came up
  std::uint64_t disconnects = 0;  ///< connections that were up and went down
};

/// The numbers behind GET /metrics: requests by route and status, a latency histogram per route,
/// and upstream calls by outcome. Gauges (in flight, open connections, loop lag) are read from
/// their owners when rendering. Thread-safe; recording takes one short lock.
class metrics {
 public:
  /// Upper bounds of the latency histogram buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 12> latency_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1.0,  1.1,   2.5,  5.0, 10.0};

  /// One finished request: `route` is the route's name, or "-" for other endpoints.
  void record_request(std::string_view route, int status, std::chrono::steady_clock::duration took);
  /// One finished upstream call, by outcome kind ("ok", "timeout", ...).
  void record_upstream(std::string_view outcome, std::uint64_t count = 1);
  /// One request the edge refused before its endpoint: `reason` is unauthenticated, forbidden,
  /// rate_limited (requests) or rate_limited_calls.
  void record_rejection(std::string_view route, std::string_view reason);

  /// Point-in-time values owned elsewhere, rendered as gauges.
  struct gauges {
    std::size_t aggregations_in_flight = 0;
    std::size_t transfers_in_flight = 0;
    std::size_t open_connections = 0;         ///< on the data plane
    std::uint64_t connections_refused = 0;    ///< closed at once: server.max_connections were open, none idle
    std::uint64_t connections_evicted = 0;    ///< idle ones closed to make room for new ones at the cap
    std::uint64_t http2_connections = 0;      ///< data-plane connections that spoke HTTP/2
    std::uint64_t http2_rapid_resets = 0;     ///< HTTP/2 connections ended: too many streams reset early
    std::uint64_t http2_control_floods = 0;   ///< ended: too many SETTINGS/PING frames
    std::uint64_t http2_protocol_errors = 0;  ///< ended: not HTTP/2, a flood nghttp2 caught
    std::size_t sync_queued = 0;              ///< sync-baseline aggregations waiting for a thread
    std::size_t unsent_bytes = 0;             ///< answer bytes waiting for slow clients to read them
    double loop_lag_seconds = 0;
    std::uint64_t upstream_connections_opened = 0;  ///< by upstream transfers, since start
    std::uint64_t upstream_connections_reused = 0;  ///< transfers that found an open connection
    std::uint64_t jwks_refreshes = 0;               ///< auth.jwt.jwks_url fetches that replaced the keys
    std::uint64_t jwks_refresh_failures = 0;        ///< and those that kept the keys in use
    /// OTLP trace export (`telemetry`): spans the collector took, dropped (queue full), failed, queued.
    std::uint64_t otlp_exported = 0;
    std::uint64_t otlp_dropped = 0;
    std::uint64_t otlp_failed = 0;
    std::size_t otlp_queued = 0;
    /// TLS on the data plane (`server.tls`): handshakes by how they ended, and when the certificate
    /// in force expires (seconds since the epoch). Rendered only with TLS on.
    bool tls = false;
    std::uint64_t tls_full = 0;
    std::uint64_t tls_resumed = 0;
    std::uint64_t tls_failed = 0;
    std::uint64_t tls_timed_out = 0;
    std::int64_t tls_not_after = 0;
    /// Redis (`store`), and the rate-limit decisions taken without it. Rendered only with a store.
    std::optional<redis_counts> redis;
    std::uint64_t rate_limit_fallbacks = 0;
  };
  /// The Prometheus text exposition format (version 0.0.4), with what the call stages counted per
  /// origin (calls, latency, breaker) and per route (retries, hedges, coalescing, cache).
  [[nodiscard]] std::string render(const gauges &now, const stages::shared_state &stages) const;

 private:
  struct histogram {
    std::array<std::uint64_t, latency_buckets.size()> buckets{};  // not cumulative here
    std::uint64_t count = 0;
    double sum = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t, std::less<>> requests_;  // guarded by mutex_
  std::map<std::string, histogram, std::less<>> latency_;                       // guarded by mutex_
  std::map<std::string, std::uint64_t, std::less<>> upstream_calls_;            // guarded by mutex_
  std::map<std::pair<std::string, std::string>, std::uint64_t> rejections_;     // (route, reason)
};

}  // namespace agg::runtime
