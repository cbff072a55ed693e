#pragma once

#include <string>

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// The response cache (policy `cache`), the outermost stage: a fresh entry answers the call with no
/// call sent (`hit`); otherwise the call goes on (`miss`) and a 2xx answer is kept for `ttl`, or for
/// what the upstream's Cache-Control allows when the policy honours it (no-store, no-cache and
/// private are not kept; s-maxage, then max-age, set the lifetime). With `stale_if_error`, a failed
/// call is answered from an entry that expired less than that ago (`stale`). Keys are the URL and
/// the forwarded headers, so callers who forward different credentials never share an entry.
class cache_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> cached(call_request request);
};

/// The cache key of a call: its method, URL, body and header lines.
std::string cache_key(const calls::upstream_call &call);

}  // namespace agg::stages
