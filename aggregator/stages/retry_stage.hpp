#pragma once

#include <chrono>

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// Retries (policy `retry`): a call that failed in a way the policy names is sent again, up to
/// `attempts` calls in all, after an exponential backoff with jitter, or after the upstream's
/// Retry-After when it sent one; never when the wait would end at or past the deadline, and never
/// beyond the route's retry budget (policy `budget`, counted by the budget stage outside this one).
/// The outcome counts every call sent (`attempts`).
class retry_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> retried(call_request request);
};

/// True when `policy` answers the failure in `reply` with a retry.
bool retryable(const config::retry_policy &policy, const calls::upstream_reply &reply) noexcept;

/// The wait before retry number `retry` (1: the first): `backoff` doubled each time, then a random
/// part of its upper half taken off ("equal jitter"), so that clients that failed together do not
/// come back together.
std::chrono::milliseconds backoff_before(const config::retry_policy &policy, unsigned retry);

}  // namespace agg::stages
