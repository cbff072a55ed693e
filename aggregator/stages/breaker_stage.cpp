#include "aggregator/stages/breaker_stage.hpp"

#include <string>

namespace agg::stages {

bool says_nothing_of_origin(const calls::upstream_call &call, const calls::upstream_reply &reply) noexcept {
  // The client left, or its own shortened timeout or the aggregation's deadline cut the call off.
  return reply.kind == calls::outcome_kind::cancelled ||
         (reply.kind == calls::outcome_kind::timeout && (reply.deadline_passed || call.timeout_by_client));
}

bool counts_against_origin(const calls::upstream_reply &reply) noexcept {
  using calls::outcome_kind;
  switch (reply.kind) {
    case outcome_kind::http_status: return reply.status >= 500 && reply.status <= 599;
    case outcome_kind::timeout:
    case outcome_kind::connect:
    case outcome_kind::tls:
    case outcome_kind::transport: return true;
    default: return false;  // a success, a size, a cancellation: not the origin's failure
  }
}

coro::task<call_outcome> breaker_stage::run(call_request request) {
  if (!request.policy->breaker) return inner_.run(std::move(request));
  return guarded(std::move(request));
}

coro::task<call_outcome> breaker_stage::guarded(call_request request) {
  const config::breaker_policy &policy = *request.policy->breaker;
  const std::string_view origin = request.call->origin();
  origin_record &record = shared_.origin(origin);
  const auto admitted = record.breaker.admit(std::chrono::steady_clock::now());
  if (admitted == circuit_breaker::admission::refuse) {
    record.refused.fetch_add(1, std::memory_order_relaxed);
    co_return refused_outcome(calls::outcome_kind::circuit_open,
                              "the circuit breaker of " + std::string{origin} + " is open");
  }
  const calls::upstream_call &call = *request.call;  // the plan's, which outlives the run
  call_outcome outcome;
  try {
    outcome = co_await inner_.run(std::move(request));
  } catch (...) {
    record.breaker.abandon(admitted);
    throw;
  }
  if (says_nothing_of_origin(call, outcome.reply)) {
    record.breaker.abandon(admitted);
    co_return outcome;
  }
  const auto changed =
      record.breaker.record(policy, admitted, counts_against_origin(outcome.reply), std::chrono::steady_clock::now());
  if (changed) shared_.breaker_changed(origin, *changed);
  co_return outcome;
}

}  // namespace agg::stages
