#pragma once

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// Delayed hedging (policy `hedge`): when a call has not succeeded after `after` (or after the
/// origin's observed latency at `after_percentile`, never less than `after`), the same call is sent
/// again, up to `max_extra` times, each extra one spending the route's retry budget (policy `budget`). The first
/// success wins and the others are cancelled at once (curl drops their transfers); when all fail,
/// the first call's failure is the outcome. On a loop only: the blocking site makes one call at a
/// time, so it passes the call on.
class hedge_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> hedged(call_request request);
};

}  // namespace agg::stages
