#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/stages/circuit_breaker.hpp"
#include "aggregator/stages/origin_stats.hpp"
#include "aggregator/stages/response_cache.hpp"
#include "aggregator/stages/retry_budget.hpp"

namespace agg::store {
class redis_store;
}

namespace agg::stages {

/// One origin as every route and loop sees it: its calls and its breaker.
struct origin_record {
  origin_stats stats;
  circuit_breaker breaker;
  std::atomic<std::uint64_t> refused{0};  ///< calls failed at once as circuit_open
};

/// What the stages did for one route, for /metrics.
struct route_counters {
  std::atomic<std::uint64_t> retries{0};           ///< retries sent
  std::atomic<std::uint64_t> retry_refusals{0};    ///< retries (and hedges) the budget refused
  std::atomic<std::uint64_t> hedges{0};            ///< hedges sent
  std::atomic<std::uint64_t> hedges_won{0};        ///< hedges whose answer was used
  std::atomic<std::uint64_t> coalesced{0};         ///< calls that joined another aggregation's transfer
  std::atomic<std::uint64_t> coalesced_across{0};  ///< transfers answered by another replica's (across_replicas)
  std::atomic<std::uint64_t> cache_hits{0};
  std::atomic<std::uint64_t> cache_misses{0};
  std::atomic<std::uint64_t> cache_stale{0};        ///< failed calls answered from an entry past its time
  std::atomic<std::uint64_t> cache_shared_hits{0};  ///< hits found in Redis (cache.shared), counted in cache_hits too
};

/// One route's shared parts, by name: they outlive a change of its definition.
struct route_record {
  retry_budget budget;
  response_cache cache;
  route_counters counters;
};

class flight;

/// What the stages keep per event loop, touched by that loop's thread only.
struct loop_state {
  /// Coalescing: the transfers in flight that identical calls may join, by call key.
  std::unordered_map<std::string, std::shared_ptr<flight>, client::transparent_hash, std::equal_to<>> flights;
  /// The per-origin cap: calls in flight and waiters (event_loop::wait ids, first come first served).
  struct origin_slots {
    std::size_t busy = 0;
    std::deque<std::uint64_t> waiting;
  };
  std::unordered_map<std::string, origin_slots, client::transparent_hash, std::equal_to<>> slots;
};

/// What the stages of every aggregation share, made once by the engine: the origins' records, the
/// routes' budgets, caches and counters, and per event loop the calls in flight that identical ones
/// may join and each origin's free slots. Records are made on first use and kept for the life of
/// this (origins come from the config, never from a request). Thread-safe, but for loop(i), which
/// belongs to loop i's thread.
class shared_state {
 public:
  /// Told when an origin's breaker changes state; on the thread of the call that changed it.
  using breaker_listener = std::function<void(std::string_view origin, breaker_state now)>;

  /// For `loops` event loops; `max_per_origin` calls in flight per origin in the whole process (0: no
  /// cap), divided evenly among the loops (at least one each).
  shared_state(std::size_t loops, std::size_t max_per_origin, breaker_listener on_breaker = {});
  shared_state(const shared_state &) = delete;
  shared_state &operator=(const shared_state &) = delete;
  ~shared_state();

  [[nodiscard]] origin_record &origin(std::string_view name);
  [[nodiscard]] route_record &route(std::string_view name);
  /// Loop `index`'s part (the upstream loop's index()). That loop's thread only.
  [[nodiscard]] loop_state &loop(std::size_t index) noexcept { return *loops_[index]; }
  /// Calls in flight allowed per origin on each loop; 0: no cap.
  [[nodiscard]] std::size_t slots_per_loop() const noexcept { return slots_per_loop_; }

  /// The shared store (`store.redis_url`) the shared response cache uses; null without one. Set
  /// once, before any call.
  void use_store(store::redis_store *store) noexcept { store_ = store; }
  [[nodiscard]] store::redis_store *store() const noexcept { return store_; }

  /// Passes a breaker's change on to the listener (the log).
  void breaker_changed(std::string_view origin, breaker_state now) const;

  /// Visits every origin (by name) and every route, for /metrics; holds a lock meanwhile.
  void for_each_origin(const std::function<void(const std::string &, const origin_record &)> &visit) const;
  void for_each_route(const std::function<void(const std::string &, const route_record &)> &visit) const;

 private:
  template <typename Record>
  using registry = std::map<std::string, std::unique_ptr<Record>, std::less<>>;
  template <typename Record>
  static Record &find_or_make(std::shared_mutex &mutex, registry<Record> &records, std::string_view name);

  std::vector<std::unique_ptr<loop_state>> loops_;
  store::redis_store *store_ = nullptr;
  std::size_t slots_per_loop_;
  breaker_listener on_breaker_;
  mutable std::shared_mutex origins_mutex_;
  registry<origin_record> origins_;  // guarded by origins_mutex_
  mutable std::shared_mutex routes_mutex_;
  registry<route_record> routes_;  // guarded by routes_mutex_
};

}  // namespace agg::stages
