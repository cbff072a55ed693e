#pragma once

#include "aggregator/stages/call_stage.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::stages {

/// Delayed hedging (policy `hedge`): when a call has not succeeded after `after` (or after the
/// origin's observed latency at `after_percentile`, never less than `after`), the same call is sent
/// again, up to `max_extra` times, each extra one spending the route's retry budget. The first
/// success wins and the others are cancelled at once (curl drops their transfers); when all fail,
/// the first call's failure is the outcome. On a loop only: the blocking site makes one call at a
/// time, so it passes the call on.
class hedge_stage final : public call_stage {
 public:
  hedge_stage(call_stage &inner, shared_state &shared) noexcept : inner_(inner), shared_(shared) {}
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> hedged(call_request request);

  call_stage &inner_;
  shared_state &shared_;
};

}  // namespace agg::stages
