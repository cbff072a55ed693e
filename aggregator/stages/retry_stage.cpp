#include "aggregator/stages/retry_stage.hpp"

#include <random>

namespace agg::stages {

bool retryable(const config::retry_policy &policy, const calls::upstream_reply &reply) noexcept {
  using calls::outcome_kind;
  using config::retry_on;
  switch (reply.kind) {
    case outcome_kind::http_status:
      if (reply.status == 429) return policy.answers(retry_on::http_429);
      return reply.status >= 500 && reply.status <= 599 && policy.answers(retry_on::http_5xx);
    case outcome_kind::timeout: return !reply.deadline_passed && policy.answers(retry_on::timeout);
    case outcome_kind::connect: return policy.answers(retry_on::connect);
    case outcome_kind::transport: return policy.answers(retry_on::transport);
    default: return false;  // a success; a certificate, a size or a cancellation does not change by asking again
  }
}

std::chrono::milliseconds backoff_before(const config::retry_policy &policy, unsigned retry) {
  thread_local std::minstd_rand random{std::random_device{}()};
  const long long full = policy.backoff.count() << std::min(retry - 1, 20U);
  if (full <= 1) return std::chrono::milliseconds{full};
  std::uniform_int_distribution<long long> half{0, full / 2};
  return std::chrono::milliseconds{full - half(random)};
}

coro::task<call_outcome> retry_stage::run(call_request request) {
  if (!request.policy->retry) return inner_.run(std::move(request));
  return retried(std::move(request));
}

coro::task<call_outcome> retry_stage::retried(call_request request) {
  using clock = std::chrono::steady_clock;
  const config::retry_policy &policy = *request.policy->retry;
  const config::budget_policy &budget = *request.policy->budget;  // set with every retry policy
  route_record &route = shared_.route(request.route);
  unsigned sent = 0;
  call_outcome outcome;
  for (unsigned attempt = 1;; ++attempt) {
    call_outcome next = co_await inner_.run(request);
    if (next.attempts == 0 && sent > 0) {
      // A retry refused before it was sent (the breaker opened meanwhile, the origin is full): the
      // call failed as its last real attempt did, and says why it was not tried again.
      outcome.reply.error_detail += "; not retried: " + next.reply.error_detail;
      break;
    }
    outcome = std::move(next);
    sent += outcome.attempts;
    if (attempt >= policy.attempts || !retryable(policy, outcome.reply)) break;
    const auto now = clock::now();
    const auto at = outcome.reply.retry_after ? *outcome.reply.retry_after : now + backoff_before(policy, attempt);
    if (at >= request.call->deadline) break;  // a retry would not be over in time
    if (!route.budget.try_spend(budget, now)) {
      route.counters.retry_refusals.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    route.counters.retries.fetch_add(1, std::memory_order_relaxed);
    const bool rested = co_await request.site.sleep_until(at, request.stop);
    if (!rested) {
      outcome.reply = calls::failed_reply(calls::outcome_kind::cancelled, "cancelled before a retry");
      break;
    }
  }
  outcome.attempts = sent;
  co_return outcome;
}

}  // namespace agg::stages
