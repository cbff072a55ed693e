#include "aggregator/engine/metrics.hpp"

#include <cstdio>

namespace agg::engine {

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

std::string metrics::render(const gauges &now) const {
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

  header(out, "aggregator_aggregations_in_flight", "gauge", "Aggregations being executed.");
  out += "aggregator_aggregations_in_flight " + std::to_string(now.aggregations_in_flight) + "\n";
  header(out, "aggregator_upstream_transfers_in_flight", "gauge", "Upstream transfers in the curl multi handles.");
  out += "aggregator_upstream_transfers_in_flight " + std::to_string(now.transfers_in_flight) + "\n";
  header(out, "aggregator_open_connections", "gauge", "Client connections open on the data plane.");
  out += "aggregator_open_connections " + std::to_string(now.open_connections) + "\n";
  header(out, "aggregator_connections_refused_total", "counter",
         "Client connections closed at once because server.max_connections were open.");
  out += "aggregator_connections_refused_total " + std::to_string(now.connections_refused) + "\n";
  header(out, "aggregator_sync_queue", "gauge", "Sync-baseline aggregations waiting for a thread.");
  out += "aggregator_sync_queue " + std::to_string(now.sync_queued) + "\n";
  header(out, "aggregator_upstream_loop_lag_seconds", "gauge",
         "Longest wait of work handed to an event loop since the previous scrape.");
  out += "aggregator_upstream_loop_lag_seconds " + number(now.loop_lag_seconds) + "\n";
  return out;
}

}  // namespace agg::engine
