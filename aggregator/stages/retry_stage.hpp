#pragma once

#include <chrono>

#include "aggregator/stages/call_stage.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::stages {

/// Retries (policy `retry`): a call that failed in a way the policy names is sent again, up to
/// `attempts` calls in all, after an exponential backoff with jitter, or after the upstream's
/// Retry-After when it sent one; never when the wait would end at or past the deadline, and never
/// beyond the route's retry budget. The outcome counts every call sent (`attempts`). Every upstream
/// call is a GET, so every call may be retried.
class retry_stage final : public call_stage {
 public:
  retry_stage(call_stage &inner, shared_state &shared) noexcept : inner_(inner), shared_(shared) {}
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> retried(call_request request);

  call_stage &inner_;
  shared_state &shared_;
};

/// True when `policy` answers the failure in `reply` with a retry.
bool retryable(const config::retry_policy &policy, const calls::upstream_reply &reply) noexcept;

/// The wait before retry number `retry` (1: the first): `backoff` doubled each time, then a random
/// part of its upper half taken off ("equal jitter"), so that clients that failed together do not
/// come back together.
std::chrono::milliseconds backoff_before(const config::retry_policy &policy, unsigned retry);

/// Whether the stages of this call count its first call in the route's budget: the outermost of
/// hedging and retrying does, once.
bool counts_first_call(const call_request &request) noexcept;

}  // namespace agg::stages
