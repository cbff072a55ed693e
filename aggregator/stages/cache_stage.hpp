#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/stages/behaviour_stage.hpp"
#include "aggregator/stages/response_cache.hpp"

namespace agg::store {
class redis_link;
}

namespace agg::stages {

/// The response cache (policy `cache`), the outermost stage: a fresh entry answers the call with no
/// call sent (`hit`); otherwise the call goes on (`miss`) and a 2xx answer is kept for `ttl`, or for
/// what the upstream's Cache-Control allows when the policy honours it (no-store, no-cache and
/// private are not kept; s-maxage, then max-age, set the lifetime). With `stale_if_error`, a failed
/// call is answered from an entry that expired less than that ago (`stale`). Keys are the URL and
/// the forwarded headers, so callers who forward different credentials never share an entry.
///
/// `shared` (with a store): a local miss asks Redis (one round trip: the entry and its time left)
/// before the upstream, and an answer kept here is written there too (after the call has been
/// answered, not before), under the same lifetime and max_bytes, so every replica finds it. Redis
/// not answering is a miss (the call goes on), never a failure. Calls on the blocking site (the
/// sync baseline) use the local cache alone.
class cache_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> cached(call_request request);
};

/// The entry Redis holds under `key` (cache.shared, or a result coalesced across replicas), fresh
/// for what is left of its time; null when it holds none or does not answer. An entry in Redis is
/// a hash: `status`, `body`, and `h:<name>` per kept header; binary-safe, no format of ours.
coro::task<std::shared_ptr<const cached_reply>> shared_entry(store::redis_link &link, std::string key);
/// The fields and values of an entry (an answer's status, body and kept headers), as shared_entry
/// reads them, appended to a command's `args`; `texts` (empty when given) keeps the texts made for
/// it: the views point into it, and into `body` and `headers`.
void append_entry(std::vector<std::string_view> &args, long status, std::string_view body,
                  const std::vector<std::pair<std::string, std::string>> &headers, std::vector<std::string> &texts);
/// A call's answer from `entry`, as if it had just arrived.
call_outcome answer_from(const cached_reply &entry, cache_state state);

/// The cache key of a call: its method, URL, body and header lines.
std::string cache_key(const calls::upstream_call &call);

}  // namespace agg::stages
