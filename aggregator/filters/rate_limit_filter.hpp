#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <variant>

#include "aggregator/coro/task.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/quota/rate_limiter.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/store/redis_store.hpp"

namespace agg::filters {

/// A route's `rate_limit`, per instance: each request is charged one to the route's request limit
/// here (after identity, so `client` means the JWT's `sub` or the API key's name, else the address),
/// and, once its plan is made, the upstream calls the plan makes to the call limit (the endpoint
/// calls the context's charge_calls before sending any). Refused: 429 with Retry-After, a JSON error
/// naming the limit, and the IETF RateLimit-Policy / RateLimit headers, which admitted answers carry
/// too. Each route's keys live in an LRU of its `max_keys`; a route changed keeps its counts.
///
/// With a shared store (`store.redis_url`) every decision is Redis's instead (one count for all
/// replicas, quota::shared_rate_limiter): the request waits for it off the filter (the exchange is
/// taken and handed on when Redis answers). While Redis does not answer, `store.on_failure` says
/// what happens: `local` charges this replica's own limiter (each replica then allows the whole
/// limit), `deny` answers 503; the log says when limits fall back and when they are shared again,
/// and aggregator_rate_limit_fallbacks_total counts the decisions taken without Redis.
class rate_limit_filter final : public request_filter {
 public:
  explicit rate_limit_filter(
      runtime::metrics &stats, store::redis_store *shared = nullptr, const runtime::service_log *log = nullptr,
      quota::rate_limiter::now_function now = [] { return quota::rate_limiter::clock::now(); })
      : stats_(stats), shared_(shared), log_(log), now_(std::move(now)) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;
  void on_response(request_context &request, http::response &answer) const override;

  /// Charges `request` (its identity read) one request on `route`'s limit and arms its call charge;
  /// what the job endpoint asks for the route a job names. `client_address`: the peer's, when the
  /// limit is keyed by it (keyed_by_address); `loop`: the index of the loop it runs on.
  [[nodiscard]] coro::task<std::optional<http::response>> admit(request_context &request, config::route_ptr route,
                                                                std::string client_address, std::size_t loop) const;
  /// Decisions taken without Redis (it did not answer): aggregator_rate_limit_fallbacks_total.
  [[nodiscard]] std::uint64_t fallbacks() const noexcept { return fallbacks_.load(std::memory_order_relaxed); }
  /// True when `route`'s limit counts by the client's address for `request`.
  [[nodiscard]] static bool keyed_by_address(const config::route_config &route, const request_context &request);

 private:
  /// A route's limiters, and its RateLimit-Policy items (the same for every answer).
  struct route_limits {
    std::size_t max_keys = 0;
    std::shared_ptr<quota::rate_limiter> requests;
    std::shared_ptr<quota::rate_limiter> calls;
    std::string requests_policy;
    std::string calls_policy;
    std::tuple<double, double, double, double> terms;  ///< what the policies say
  };
  [[nodiscard]] std::shared_ptr<const route_limits> limits_of(const config::route_config &route) const;
  /// What follows decision `d` on `route`'s requests (or `calls`) limit: the 429 when it refused,
  /// else the RateLimit headers' items for the answer.
  [[nodiscard]] std::optional<http::response> settle(request_context &r, const config::route_config &route,
                                                     const route_limits &limits, bool calls, const quota::rate &rate,
                                                     const quota::decision &d, std::size_t units) const;
  /// admit() on this replica's own limiters: decided at once.
  [[nodiscard]] std::optional<http::response> admit_here(request_context &request, const config::route_ptr &route,
                                                         const std::string &client_address) const;
  /// One charge to `limiter` (its Redis twin keyed `shared_key` when shared): the decision, or an
  /// answer (503) when Redis did not answer and on_failure is deny.
  [[nodiscard]] coro::task<std::variant<quota::decision, http::response>> decide(
      const config::route_config &route, quota::rate_limiter &limiter, const std::string &key, double units,
      quota::rate rate, std::string_view limit_name, std::size_t loop) const;
  /// The log hears when decisions first fall back, and when they are shared again.
  void note_shared(bool answered) const;

  runtime::metrics &stats_;
  store::redis_store *shared_;
  const runtime::service_log *log_;
  mutable std::atomic<bool> falling_back_{false};
  mutable std::atomic<std::uint64_t> fallbacks_{0};
  quota::rate_limiter::now_function now_;
  mutable std::mutex mutex_;                                                                // guards limits_
  mutable std::map<std::string, std::shared_ptr<const route_limits>, std::less<>> limits_;  // by route name
};

}  // namespace agg::filters
