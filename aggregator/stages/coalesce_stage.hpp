#pragma once

#include <memory>
#include <string>

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// Coalescing (policy `coalesce`): identical calls in flight on one loop (same URL, same forwarded
/// headers, same body limit) share one transfer, across aggregations; the calls that joined say
/// `coalesced`. The shared transfer outlives the aggregation that started it while others wait for
/// it, and is cancelled only when every waiter has been. A call joins only a transfer sure to end
/// by the time the call itself must (its timeout, its deadline). On a loop only (the blocking site passes the call on).
class coalesce_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  /// What a shared transfer holds on to while it runs: the owner of these stages (the pipeline, with
  /// its route). Without one, the owner must outlive every transfer it starts.
  void owned_by(std::weak_ptr<const void> owner) noexcept { keep_alive_ = std::move(owner); }
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> joined(call_request request);

  std::weak_ptr<const void> keep_alive_;
};

/// What makes two calls identical for coalescing: URL, header lines and body limit.
std::string coalescing_key(const calls::upstream_call &call);

}  // namespace agg::stages
