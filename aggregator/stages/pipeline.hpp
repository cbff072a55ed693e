#pragma once

#include <memory>
#include <optional>

#include "aggregator/config/service_config.hpp"
#include "aggregator/stages/breaker_stage.hpp"
#include "aggregator/stages/budget_stage.hpp"
#include "aggregator/stages/cache_stage.hpp"
#include "aggregator/stages/call_stage.hpp"
#include "aggregator/stages/coalesce_stage.hpp"
#include "aggregator/stages/fetch_stage.hpp"
#include "aggregator/stages/hedge_stage.hpp"
#include "aggregator/stages/origin_limit_stage.hpp"
#include "aggregator/stages/retry_stage.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::stages {

/// The stages one aggregation's calls go through, outermost first: cache → coalesce → budget →
/// hedge → retry → breaker → origin limit → fetch. A cache hit sends nothing; identical calls share
/// what is below the coalescing (hedges and retries included); the budget counts each call once for
/// the extra calls hedges and retries may make; each hedge retries on its own; every retry asks the
/// breaker; and only calls that are really sent wait for a slot at their origin.
/// Only the stages some entry of the route asks for are built, so a route that asks for nothing
/// costs one virtual call per call. Shared (a coalesced transfer may outlive the aggregation that
/// started it): make it with make(); it keeps its route and the shared state, so a call still
/// running on a loop when the engine goes finds what it records in.
class pipeline {
 public:
  static std::shared_ptr<pipeline> make(config::route_ptr route, std::shared_ptr<shared_state> shared);

  pipeline(config::route_ptr route, std::shared_ptr<shared_state> shared);  // use make()
  pipeline(const pipeline &) = delete;
  pipeline &operator=(const pipeline &) = delete;

  /// Where a call enters: the outermost stage.
  [[nodiscard]] call_stage &entry() noexcept { return *outer_; }

 private:
  config::route_ptr route_;
  std::shared_ptr<shared_state> shared_;
  fetch_stage fetch_;
  std::optional<origin_limit_stage> origin_limit_;
  std::optional<breaker_stage> breaker_;
  std::optional<retry_stage> retry_;
  std::optional<hedge_stage> hedge_;
  std::optional<budget_stage> budget_;
  std::optional<coalesce_stage> coalesce_;
  std::optional<cache_stage> cache_;
  call_stage *outer_;
};

}  // namespace agg::stages
