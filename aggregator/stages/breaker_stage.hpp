#pragma once

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// The circuit breaker of the call's origin (policy `breaker`): while it is open the call fails at
/// once as `circuit_open`, with no connection attempt; otherwise the call goes on and its verdict is
/// recorded. What counts against an origin: no connection, a timeout, a transport failure, a 5xx;
/// not a 4xx (the request's fault) or an oversized body (the route's limit); and what the client
/// caused (its disconnect, its own shortened timeout, the aggregation's deadline) counts neither way.
class breaker_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> guarded(call_request request);
};

/// True when `reply` says its origin is failing (see breaker_stage).
bool counts_against_origin(const calls::upstream_reply &reply) noexcept;
/// True when the call's end was the client's doing, not the origin's: it went away, or its own
/// shortened timeout or the aggregation's deadline cut the call off. Neither a failure nor a success.
bool says_nothing_of_origin(const calls::upstream_call &call, const calls::upstream_reply &reply) noexcept;

}  // namespace agg::stages
