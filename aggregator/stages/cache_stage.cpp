#include "aggregator/stages/cache_stage.hpp"

#include "aggregator/http/call_marks.hpp"
#include "aggregator/stages/cache_control.hpp"

namespace agg::stages {

namespace {

using clock = std::chrono::steady_clock;

/// The call's answer from `entry`, as if it had just arrived.
call_outcome answer_from(const cached_reply &entry, cache_state state) {
  call_outcome outcome;
  outcome.reply.status = entry.status;
  outcome.reply.body = entry.body;
  outcome.reply.headers = entry.headers;
  outcome.reply.started = clock::now();
  outcome.reply.finished = outcome.reply.started;
  outcome.attempts = 0;
  outcome.cache = state;
  return outcome;
}

/// How long `reply` may be kept under `policy`; nullopt when it must not be.
std::optional<clock::duration> lifetime(const config::cache_policy &policy, const calls::upstream_reply &reply) {
  if (failed(reply)) return std::nullopt;
  if (!policy.honor_cache_control || reply.cache_control.empty()) return policy.ttl;
  const cache_directives said = parse_cache_control(reply.cache_control);
  if (!said.storable()) return std::nullopt;
  const auto seconds = said.lifetime();
  if (!seconds) return policy.ttl;
  if (seconds->count() == 0) return std::nullopt;
  return *seconds;
}

}  // namespace

std::string cache_key(const calls::upstream_call &call) {
  // The method and the body ask as much as the URL does; a caller's identity used by any of them
  // (`{jwt#/sub}`, claims_to_headers) is in the key, so no caller gets another's answer.
  std::string key{call.method};
  (key += ' ') += call.url;
  if (call.body) (key += "\nbody ") += *call.body;
  // A call's trace context and hop marker say where it comes from, not what it asks: calls that
  // differ only there share an answer (a coalesced upstream sees the first call's).
  for (const auto &line : call.headers)
    if (!http::is_call_mark(std::string_view{line}.substr(0, line.find(':')))) (key += '\n') += line;
  if (call.return_headers != nullptr)  // a reply keeps only the headers its call asked for
    for (const auto &name : *call.return_headers) (key += "\nreturn ") += name;
  return key;
}

coro::task<call_outcome> cache_stage::run(call_request request) {
  if (!request.policy->cache) return inner_.run(std::move(request));
  return cached(std::move(request));
}

coro::task<call_outcome> cache_stage::cached(call_request request) {
  const config::cache_policy &policy = *request.policy->cache;
  route_record &route = shared_.route(request.route);
  const std::string key = cache_key(*request.call);
  const std::shared_ptr<const cached_reply> entry = route.cache.find(key, clock::now());
  if (entry && entry->fresh_until > clock::now()) {
    route.counters.cache_hits.fetch_add(1, std::memory_order_relaxed);
    co_return answer_from(*entry, cache_state::hit);
  }
  call_outcome outcome = co_await inner_.run(std::move(request));
  if (failed(outcome.reply) && entry && outcome.reply.kind != calls::outcome_kind::cancelled) {
    route.counters.cache_stale.fetch_add(1, std::memory_order_relaxed);
    call_outcome stale = answer_from(*entry, cache_state::stale);
    stale.attempts = outcome.attempts;
    co_return stale;
  }
  route.counters.cache_misses.fetch_add(1, std::memory_order_relaxed);
  outcome.cache = cache_state::miss;
  if (const auto keep = lifetime(policy, outcome.reply)) {
    const auto now = clock::now();
    auto kept = std::make_shared<cached_reply>();
    kept->status = outcome.reply.status;
    kept->body = outcome.reply.body;
    kept->headers = outcome.reply.headers;
    kept->fresh_until = now + *keep;
    kept->stale_until = kept->fresh_until + policy.stale_if_error;
    route.cache.store(key, std::move(kept), policy.max_bytes);
  }
  co_return outcome;
}

}  // namespace agg::stages
