#pragma once

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// The circuit breaker of the call's origin (policy `breaker`): while it is open the call fails at
/// once as `circuit_open`, with no connection attempt; otherwise the call goes on and its verdict is
/// recorded. What counts against an origin: no connection, a timeout, a transport failure, a 5xx;
/// not a 4xx (the request's fault), an oversized body (the route's limit) or a cancellation.
class breaker_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> guarded(call_request request);
};

/// True when `reply` says its origin is failing (see breaker_stage).
bool counts_against_origin(const calls::upstream_reply &reply) noexcept;

}  // namespace agg::stages
