#include "aggregator/stages/breaker_stage.hpp"

#include <string>

namespace agg::stages {

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
  call_outcome outcome;
  try {
    outcome = co_await inner_.run(std::move(request));
  } catch (...) {
    record.breaker.abandon(admitted);
    throw;
  }
  if (outcome.reply.kind == calls::outcome_kind::cancelled) {
    record.breaker.abandon(admitted);
    co_return outcome;
  }
  const auto changed =
      record.breaker.record(policy, admitted, counts_against_origin(outcome.reply), std::chrono::steady_clock::now());
  if (changed) shared_.breaker_changed(origin, *changed);
  co_return outcome;
}

}  // namespace agg::stages
