#pragma once

// What a route, or one of its entries, asks of each upstream call beyond making it: the call
// stages' terms (retry and its budget, hedge, breaker, cache, coalesce), as the config reads them.

#include <chrono>
#include <cstddef>
#include <optional>

namespace agg::config {

/// The failures a retry may answer.
enum class retry_on : unsigned { connect = 1, timeout = 2, http_5xx = 4, http_429 = 8, transport = 16 };

/// Retrying a failed call: up to `attempts` calls in all, waiting `backoff` before the first retry and
/// twice as long before each next one (with jitter), or what the upstream's Retry-After asks when that
/// fits before the deadline; never past the deadline, and never beyond the route's budget.
struct retry_policy {
  unsigned attempts = 3;
  std::chrono::milliseconds backoff{50};
  unsigned on = static_cast<unsigned>(retry_on::connect) | static_cast<unsigned>(retry_on::timeout) |
                static_cast<unsigned>(retry_on::http_5xx) | static_cast<unsigned>(retry_on::transport);
  [[nodiscard]] bool answers(retry_on failure) const noexcept { return (on & static_cast<unsigned>(failure)) != 0; }
};

/// The terms of a route's retry budget, which its retries and hedges both draw from: over the last
/// `window`, extra calls may be `ratio` of the first calls, plus `floor` a second (the config's
/// `retry.budget`: ratio, min_per_second, window_ms).
struct budget_policy {
  double ratio = 0.2;
  unsigned floor = 10;
  std::chrono::milliseconds window{10'000};
};

/// Hedging a slow call: once `after` has passed (or, with `after_percentile`, the origin's observed
/// latency at that percentile), the same call is sent again, up to `max_extra` times; the first
/// success wins and the others are removed at once.
struct hedge_policy {
  std::chrono::milliseconds after{50};
  std::optional<double> after_percentile;  ///< e.g. 0.95: `after` is the floor until enough calls are seen
  unsigned max_extra = 1;
};

/// A circuit breaker for the calls' origin (scheme, host and port): it opens after `failures`
/// failures in a row, or when `ratio` of at least `min_calls` calls in `window` failed; then every
/// call fails at once as `circuit_open` for `open`, after which one probe at a time is let through
/// (half open) until one succeeds.
struct breaker_policy {
  unsigned failures = 5;
  double ratio = 0.5;
  unsigned min_calls = 20;
  std::chrono::milliseconds window{10'000};
  std::chrono::milliseconds open{5'000};
};

/// Keeping 2xx answers in the response cache for `ttl`, in an LRU of `max_bytes` per route; with
/// `honor_cache_control`, the upstream's Cache-Control (max-age, no-store, private) decides instead;
/// `stale_if_error`: an entry this much past its time may still answer when the call fails.
struct cache_policy {
  std::chrono::milliseconds ttl{1'000};
  std::size_t max_bytes = 16 << 20;
  bool honor_cache_control = false;
  std::chrono::milliseconds stale_if_error{0};
  /// Kept in Redis too (store.redis_url), for every replica: a miss here asks Redis before the
  /// upstream, and an answer is written there as well. Without a store, the local cache alone.
  bool shared = false;
};

/// What a route (or one of its entries) asks of each of its calls, beyond making it.
struct call_policy {
  std::optional<retry_policy> retry;
  std::optional<hedge_policy> hedge;
  /// What retries and hedges spend: set whenever either is (terms from `retry.budget`, or the defaults).
  std::optional<budget_policy> budget;
  std::optional<breaker_policy> breaker;
  std::optional<cache_policy> cache;
  bool coalesce = false;  ///< identical calls in flight on a loop share one transfer
  /// `coalesce: {"across_replicas": true}`: and with a store, identical calls in flight on any
  /// replica share one (the first replica to ask calls; the others wait for its published answer).
  bool coalesce_across_replicas = false;
};

}  // namespace agg::config
