#include "aggregator/runtime/metrics.hpp"

#include <atomic>
#include <cstdio>

#include "aggregator/stages/shared_state.hpp"

namespace agg::runtime {

namespace {

/// A label value with `\`, `"` and newlines escaped, as the exposition format wants.
std::string label(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  return out;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

/// A metric's name, type and help line.
struct metric_help {
  const char *name;
  const char *type;
  const char *help;
};

void header(std::string &out, const char *name, const char *type, const char *help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string &out, std::string_view name, std::string_view labels, std::uint64_t value) {
  out += name;
  out += '{';
  out += labels;
  out += "} ";
  out += std::to_string(value);
  out += '\n';
}

/// Per origin: calls by result, a latency histogram, the breaker's state and its refusals.
void render_origins(std::string &out, const stages::shared_state &stages) {
  std::string calls, latency, breaker, refused, opened;
  stages.for_each_origin([&](const std::string &origin, const stages::origin_record &record) {
    const std::string at = "origin=\"" + label(origin) + "\"";
    const auto counts = record.stats.read();
    counts.calls.each([&calls, &at](std::string_view outcome, std::uint64_t n) {
      sample(calls, "aggregator_origin_calls_total", at + ",outcome=\"" + std::string{outcome} + "\"", n);
    });
    const std::string name = "aggregator_origin_call_duration_seconds";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < stages::origin_stats::latency_buckets.size(); ++i) {
      cumulative += counts.buckets[i];
      sample(latency, name + "_bucket", at + ",le=\"" + number(stages::origin_stats::latency_buckets[i]) + "\"",
             cumulative);
    }
    sample(latency, name + "_bucket", at + ",le=\"+Inf\"", counts.timed);
    latency += name + "_sum{" + at + "} " + number(counts.seconds) + "\n";
    sample(latency, name + "_count", at, counts.timed);
    const auto state = record.breaker.state();
    for (const auto s : {stages::breaker_state::closed, stages::breaker_state::open, stages::breaker_state::half_open})
      sample(breaker, "aggregator_upstream_breaker_state", at + ",state=\"" + std::string{to_string(s)} + "\"",
             s == state ? 1 : 0);
    sample(opened, "aggregator_upstream_breaker_opened_total", at, record.breaker.times_opened());
    sample(refused, "aggregator_upstream_breaker_refusals_total", at, record.refused.load(std::memory_order_relaxed));
  });
  header(out, "aggregator_origin_calls_total", "counter", "Calls sent to an origin (scheme://host:port), by outcome.");
  out += calls;
  header(out, "aggregator_origin_call_duration_seconds", "histogram",
         "Time an origin took to answer, per origin (cancelled calls are not timed).");
  out += latency;
  header(out, "aggregator_upstream_breaker_state", "gauge", "An origin's circuit breaker: 1 for its current state.");
  out += breaker;
  header(out, "aggregator_upstream_breaker_opened_total", "counter", "How often an origin's breaker opened.");
  out += opened;
  header(out, "aggregator_upstream_breaker_refusals_total", "counter",
         "Calls failed at once as circuit_open, without a connection attempt.");
  out += refused;
}

/// Per route: what its retries, hedges, coalescing and cache did.
void render_routes(std::string &out, const stages::shared_state &stages) {
  struct family {
    const char *name;
    const char *help;
    std::atomic<std::uint64_t> stages::route_counters::*counter;
    std::string text;
  };
  std::array<family, 6> families{{
      {"aggregator_upstream_retries_total", "Retries sent, by route.", &stages::route_counters::retries, {}},
      {"aggregator_upstream_retry_budget_refusals_total",
       "Retries and hedges not sent because the route's retry budget was spent.",
       &stages::route_counters::retry_refusals,
       {}},
      {"aggregator_upstream_hedges_total", "Hedged calls sent, by route.", &stages::route_counters::hedges, {}},
      {"aggregator_upstream_hedges_won_total",
       "Hedged calls whose answer was used, by route.",
       &stages::route_counters::hedges_won,
       {}},
      {"aggregator_upstream_coalesced_total",
       "Calls that shared another aggregation's transfer, by route.",
       &stages::route_counters::coalesced,
       {}},
      {"aggregator_upstream_coalesced_across_replicas_total",
       "Transfers answered by another replica's identical call (coalesce.across_replicas), by route.",
       &stages::route_counters::coalesced_across,
       {}},
  }};
  std::string cache;
  stages.for_each_route([&](const std::string &route, const stages::route_record &record) {
    const std::string at = "route=\"" + label(route) + "\"";
    for (auto &f : families) sample(f.text, f.name, at, (record.counters.*f.counter).load(std::memory_order_relaxed));
    const auto &c = record.counters;
    sample(cache, "aggregator_upstream_cache_total", at + ",result=\"hit\"",
           c.cache_hits.load(std::memory_order_relaxed));
    sample(cache, "aggregator_upstream_cache_total", at + ",result=\"miss\"",
           c.cache_misses.load(std::memory_order_relaxed));
    sample(cache, "aggregator_upstream_cache_total", at + ",result=\"stale\"",
           c.cache_stale.load(std::memory_order_relaxed));
    sample(cache, "aggregator_upstream_cache_total", at + ",result=\"shared_hit\"",
           c.cache_shared_hits.load(std::memory_order_relaxed));
  });
  for (const auto &f : families) {
    header(out, f.name, "counter", f.help);
    out += f.text;
  }
  header(out, "aggregator_upstream_cache_total", "counter",
         "Calls a route's response cache answered (hit, stale on error) or did not (miss); shared_hit: the hits "
         "found in Redis (cache.shared), counted in hit too.");
  out += cache;
}

}  // namespace

void metrics::record_request(std::string_view route, int status, std::chrono::steady_clock::duration took) {
  const double seconds = std::chrono::duration<double>(took).count();
  std::size_t bucket = 0;
  while (bucket < latency_buckets.size() && seconds > latency_buckets[bucket]) ++bucket;
  const std::lock_guard lock{mutex_};
  ++requests_[{std::string{route}, status}];
  auto found = latency_.find(route);
  if (found == latency_.end()) found = latency_.emplace(std::string{route}, histogram{}).first;
  histogram &h = found->second;
  if (bucket < latency_buckets.size()) ++h.buckets[bucket];
  ++h.count;
  h.sum += seconds;
}

void metrics::record_upstream(std::string_view outcome, std::uint64_t count) {
  const std::lock_guard lock{mutex_};
  auto found = upstream_calls_.find(outcome);
  if (found == upstream_calls_.end()) found = upstream_calls_.emplace(std::string{outcome}, 0).first;
  found->second += count;
}

void metrics::record_rejection(std::string_view route, std::string_view reason) {
  const std::lock_guard lock{mutex_};
  ++rejections_[{std::string{route}, std::string{reason}}];
}

std::string metrics::render(const gauges &now, const stages::shared_state &stages) const {
  std::string out;
  out.reserve(4096);
  const std::lock_guard lock{mutex_};

  header(out, "aggregator_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto &[key, count] : requests_)
    out += "aggregator_requests_total{route=\"" + label(key.first) + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(count) + "\n";

  header(out, "aggregator_request_duration_seconds", "histogram", "Time from request to response, by route.");
  for (const auto &[route, h] : latency_) {
    std::uint64_t cumulative = 0;
    const std::string name = "aggregator_request_duration_seconds";
    for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += name + "_bucket{route=\"" + label(route) + "\",le=\"" + number(latency_buckets[i]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += name + "_bucket{route=\"" + label(route) + "\",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += name + "_sum{route=\"" + label(route) + "\"} " + number(h.sum) + "\n";
    out += name + "_count{route=\"" + label(route) + "\"} " + std::to_string(h.count) + "\n";
  }

  header(out, "aggregator_upstream_calls_total", "counter", "Upstream calls finished, by outcome.");
  for (const auto &[outcome, count] : upstream_calls_)
    out += "aggregator_upstream_calls_total{outcome=\"" + label(outcome) + "\"} " + std::to_string(count) + "\n";

  header(out, "aggregator_rejections_total", "counter",
         "Requests the edge refused before their endpoint (credentials, claims, rate limits), by route and reason.");
  for (const auto &[where, count] : rejections_)
    out += "aggregator_rejections_total{route=\"" + label(where.first) + "\",reason=\"" + label(where.second) + "\"} " +
           std::to_string(count) + "\n";

  header(out, "aggregator_jwks_refreshes_total", "counter",
         "Fetches of auth.jwt.jwks_url after start, by result (failed: the keys in use stayed).");
  out += "aggregator_jwks_refreshes_total{result=\"ok\"} " + std::to_string(now.jwks_refreshes) + "\n";
  out += "aggregator_jwks_refreshes_total{result=\"failed\"} " + std::to_string(now.jwks_refresh_failures) + "\n";

  header(out, "aggregator_otlp_spans_total", "counter",
         "Spans of the OTLP trace export (telemetry) by outcome: exported (the collector took them), dropped (the "
         "queue was full), failed (sent, not taken).");
  out += "aggregator_otlp_spans_total{outcome=\"exported\"} " + std::to_string(now.otlp_exported) + "\n";
  out += "aggregator_otlp_spans_total{outcome=\"dropped\"} " + std::to_string(now.otlp_dropped) + "\n";
  out += "aggregator_otlp_spans_total{outcome=\"failed\"} " + std::to_string(now.otlp_failed) + "\n";

  header(out, "aggregator_http2_connections_total", "counter",
         "Data-plane connections that spoke HTTP/2 (ALPN h2, or h2c with prior knowledge).");
  out += "aggregator_http2_connections_total " + std::to_string(now.http2_connections) + "\n";
  header(out, "aggregator_http2_goaways_total", "counter",
         "HTTP/2 connections ended with GOAWAY because of their client, by reason: rapid_reset (streams reset "
         "before their answer, past server.http2.max_resets_per_s), control_flood (SETTINGS/PING past "
         "max_control_frames_per_s), protocol_error (not HTTP/2, or a flood nghttp2 caught).");
  for (const auto &[reason, count] :
       {std::pair{"rapid_reset", now.http2_rapid_resets}, std::pair{"control_flood", now.http2_control_floods},
        std::pair{"protocol_error", now.http2_protocol_errors}})
    out += std::string{"aggregator_http2_goaways_total{reason=\""} + reason + "\"} " + std::to_string(count) + "\n";

  if (now.tls) {
    header(out, "aggregator_tls_handshakes_total", "counter",
           "TLS handshakes on the data plane by outcome: full, resumed (a session ticket or cached session), failed "
           "(not TLS, refused, a client certificate that did not verify), timeout (server.tls.handshake_timeout_ms).");
    for (const auto &[outcome, count] : {std::pair{"full", now.tls_full}, std::pair{"resumed", now.tls_resumed},
                                         std::pair{"failed", now.tls_failed}, std::pair{"timeout", now.tls_timed_out}})
      out +=
          std::string{"aggregator_tls_handshakes_total{outcome=\""} + outcome + "\"} " + std::to_string(count) + "\n";
    header(out, "aggregator_tls_certificate_expiry_seconds", "gauge",
           "When the data plane's certificate in force expires (seconds since the epoch; reloaded on SIGHUP).");
    out += "aggregator_tls_certificate_expiry_seconds " + std::to_string(now.tls_not_after) + "\n";
  }

  if (const redis_counts *redis = now.redis ? &*now.redis : nullptr) {
    header(out, "aggregator_redis_up", "gauge",
           "1 when every loop's connection to Redis (store.redis_url) is up and answering, else 0.");
    out += "aggregator_redis_up " + std::to_string(redis->links_up == redis->links ? 1 : 0) + "\n";
    header(out, "aggregator_redis_connections_up", "gauge", "Loops whose connection to Redis is up (one per loop).");
    out += "aggregator_redis_connections_up " + std::to_string(redis->links_up) + "\n";
    header(out, "aggregator_redis_commands_total", "counter",
           "Redis commands by outcome: reply (answered), timeout (no reply within store.timeout_ms; the connection "
           "is dropped), unavailable (not sent: Redis was down), lost (the connection went away first).");
    for (const auto &[outcome, count] : {std::pair{"reply", redis->replies}, std::pair{"timeout", redis->timeouts},
                                         std::pair{"unavailable", redis->unavailable}, std::pair{"lost", redis->lost}})
      out +=
          std::string{"aggregator_redis_commands_total{outcome=\""} + outcome + "\"} " + std::to_string(count) + "\n";
    header(out, "aggregator_redis_connects_total", "counter",
           "Connections to Redis that came up (the first included).");
    out += "aggregator_redis_connects_total " + std::to_string(redis->connects) + "\n";
    header(out, "aggregator_redis_disconnects_total", "counter", "Connections to Redis that were up and went down.");
    out += "aggregator_redis_disconnects_total " + std::to_string(redis->disconnects) + "\n";
    header(out, "aggregator_rate_limit_fallbacks_total", "counter",
           "Rate-limit decisions taken without Redis (store.on_failure: local charged this replica's own, deny "
           "answered 503).");
    out += "aggregator_rate_limit_fallbacks_total " + std::to_string(now.rate_limit_fallbacks) + "\n";
  }

  // One value each, no labels.
  const std::pair<metric_help, std::string> singles[] = {
      {{"aggregator_aggregations_in_flight", "gauge", "Aggregations being executed."},
       std::to_string(now.aggregations_in_flight)},
      {{"aggregator_otlp_spans_queued", "gauge", "Spans waiting for the OTLP trace export."},
       std::to_string(now.otlp_queued)},
      {{"aggregator_upstream_transfers_in_flight", "gauge", "Upstream transfers in the curl multi handles."},
       std::to_string(now.transfers_in_flight)},
      {{"aggregator_upstream_connections_opened_total", "counter",
        "Connections upstream transfers opened (TCP, and TLS handshakes for https)."},
       std::to_string(now.upstream_connections_opened)},
      {{"aggregator_upstream_connections_reused_total", "counter",
        "Upstream transfers that reused an open connection instead."},
       std::to_string(now.upstream_connections_reused)},
      {{"aggregator_open_connections", "gauge", "Client connections open on the data plane."},
       std::to_string(now.open_connections)},
      {{"aggregator_connections_refused_total", "counter",
        "Client connections closed at once: server.max_connections were open and none could make room."},
       std::to_string(now.connections_refused)},
      {{"aggregator_connections_evicted_total", "counter",
        "Idle client connections closed to make room for new ones at server.max_connections."},
       std::to_string(now.connections_evicted)},
      {{"aggregator_unsent_bytes", "gauge",
        "Answer bytes waiting for slow clients to read them (new requests wait past server.max_unsent_bytes)."},
       std::to_string(now.unsent_bytes)},
      {{"aggregator_sync_queue", "gauge", "Sync-baseline aggregations waiting for a thread."},
       std::to_string(now.sync_queued)},
      {{"aggregator_upstream_loop_lag_seconds", "gauge",
        "Longest wait of work handed to an event loop since the previous scrape."},
       number(now.loop_lag_seconds)},
  };
  for (const auto &[metric, value] : singles) {
    header(out, metric.name, metric.type, metric.help);
    out += std::string{metric.name} + " " + value + "\n";
  }
  render_origins(out, stages);
  render_routes(out, stages);
  return out;
}

}  // namespace agg::runtime
