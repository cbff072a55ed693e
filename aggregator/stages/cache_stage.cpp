#include "aggregator/stages/cache_stage.hpp"

#include <charconv>

#include "aggregator/auth/jwt_verifier.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/http/call_marks.hpp"
#include "aggregator/stages/cache_control.hpp"
#include "aggregator/stages/shared_state.hpp"
#include "aggregator/store/redis_store.hpp"

namespace agg::stages {

namespace {

using clock = std::chrono::steady_clock;

}  // namespace

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

void append_entry(std::vector<std::string_view> &args, long status, std::string_view body,
                  const std::vector<std::pair<std::string, std::string>> &headers, std::vector<std::string> &texts) {
  texts.reserve(texts.size() + headers.size() + 1);  // no reallocation: args point into it
  texts.push_back(std::to_string(status));
  args.insert(args.end(), {"status", texts.back(), "body", body});
  for (const auto &[name, value] : headers) {
    texts.push_back("h:" + name);
    args.insert(args.end(), {texts.back(), value});
  }
}

namespace {

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

// An entry in Redis is a hash: `status`, `body`, and `h:<name>` per kept header; binary-safe, no
// format of ours. KEYS[1]: the entry.
constexpr const char *read_entry_lua = R"lua(
return {redis.call('HGETALL', KEYS[1]), redis.call('PTTL', KEYS[1])}
)lua";
// ARGV: its lifetime in ms, then field, value, field, value...
constexpr const char *write_entry_lua = R"lua(
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
)lua";

/// The Redis key of a route's entry for `key` (a call's cache_key: hashed, it may be long).
std::string shared_key(const store::redis_store &store, std::string_view route, const std::string &key) {
  return store.key("cache:" + std::string{route} + ":" + auth::sha256_hex(key));
}

/// Writes `entry` to Redis for `ttl`; nobody waits for it (the call has its answer already).
coro::detached write_shared(store::redis_link &link, std::string redis_key, std::shared_ptr<const cached_reply> entry,
                            clock::duration ttl) {
  static const std::string script{write_entry_lua};
  const std::string ttl_ms = store::expiry_ms(ttl);
  std::vector<std::string_view> args{"EVAL", script, "1", redis_key, ttl_ms};
  std::vector<std::string> texts;
  append_entry(args, entry->status, entry->body, entry->headers, texts);
  auto sent = link.command(std::move(args));
  static_cast<void>(co_await sent);  // a write that fails leaves a miss for the next replica: nothing to do
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
  // cache.shared: what another replica (or this one, since its entry left) kept in Redis.
  store::redis_store *const redis = policy.shared ? shared_.store() : nullptr;
  store::redis_link *const link =
      redis != nullptr && request.site.loop() != nullptr ? &redis->link(request.site.loop()->index()) : nullptr;
  if (link != nullptr) {
    if (auto found = co_await shared_entry(*link, shared_key(*redis, request.route, key))) {
      route.counters.cache_hits.fetch_add(1, std::memory_order_relaxed);
      route.counters.cache_shared_hits.fetch_add(1, std::memory_order_relaxed);
      route.cache.store(key, found, policy.max_bytes);
      co_return answer_from(*found, cache_state::hit);
    }
  }
  const std::string route_name{request.route};
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
    if (link != nullptr && kept->body.size() <= policy.max_bytes)
      write_shared(*link, shared_key(*redis, route_name, key), kept, *keep);
    route.cache.store(key, std::move(kept), policy.max_bytes);
  }
  co_return outcome;
}

coro::task<std::shared_ptr<const cached_reply>> shared_entry(store::redis_link &link, std::string key) {
  static const std::string script{read_entry_lua};
  auto sent = link.command({"EVAL", script, "1", key});
  const store::result answer = co_await sent;
  const auto *r = std::get_if<store::reply>(&answer);
  if (r == nullptr || r->type != store::reply::kind::array || r->elements.size() != 2) co_return nullptr;
  const store::reply &fields = r->elements[0];
  const long long left_ms = r->elements[1].integer;
  if (fields.elements.empty() || left_ms <= 0) co_return nullptr;  // none, or no time left
  auto entry = std::make_shared<cached_reply>();
  bool has_status = false;
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    const std::string &name = fields.elements[i].text;
    const std::string &value = fields.elements[i + 1].text;
    if (name == "status") {
      has_status = std::from_chars(value.data(), value.data() + value.size(), entry->status).ec == std::errc{};
    } else if (name == "body") {
      entry->body = value;
    } else if (name.starts_with("h:")) {
      entry->headers.emplace_back(name.substr(2), value);
    }
  }
  if (!has_status) co_return nullptr;
  entry->fresh_until = clock::now() + std::chrono::milliseconds{left_ms};
  entry->stale_until = entry->fresh_until;
  co_return entry;
}

}  // namespace agg::stages
