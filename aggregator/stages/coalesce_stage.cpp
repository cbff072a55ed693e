#include "aggregator/stages/coalesce_stage.hpp"

#include "aggregator/auth/jwt_verifier.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/jobs/job_store.hpp"
#include "aggregator/stages/cache_stage.hpp"
#include "aggregator/stages/flight.hpp"
#include "aggregator/stages/shared_state.hpp"
#include "aggregator/store/redis_store.hpp"

namespace agg::stages {

namespace {

using clock = std::chrono::steady_clock;

// Who calls. KEYS: the call's lock, this replica's lease. ARGV: the lock's value (this
// replica's name and a token: `<replica>:<token>`), its time and the lease's (ms). 1 when the
// caller leads: it holds the lock, and its replica's lease exists (the first renewal may be still
// to come); else the lock's value, which names the result to wait for.
constexpr const char *claim_lua = R"lua(
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('GET', KEYS[1]) end
redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3])
return 1
)lua";
// The leader is done. KEYS: its lock, its result (the call's name and the lock's value: each
// call's result is its own, so a follower never takes an earlier call's). ARGV: the lock's value,
// the signals channel, the result's time (ms, 0: no result to share), then the result's fields
// and values. Writes the result, releases the lock and publishes the result's name, in one step.
constexpr const char *finish_lua = R"lua(
if tonumber(ARGV[3]) > 0 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 4))
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], KEYS[2])
return 1
)lua";
// A follower's look while it waits. KEYS: the lock. ARGV: the replicas' leases' prefix, the
// lock's value when it came. 1 while that leader holds the lock and its replica's lease lives; 0
// once it released it, or it expired, or its replica died (stopped renewing its lease).
constexpr const char *leading_lua = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
return redis.call('EXISTS', ARGV[1] .. string.match(ARGV[2], '^[^:]+'))
)lua";

/// How often a follower looks whether its leader still leads (a dead one's lease expires within
/// jobs.lease_ms).
constexpr std::chrono::milliseconds look_every{500};

/// The leader `held_by` still holds the lock, and its replica lives (false too when Redis does not
/// answer).
coro::task<bool> leading(store::redis_link &link, const std::string &lock, const std::string &leases,
                         const std::string &held_by) {
  static const std::string script{leading_lua};
  auto sent = link.command({"EVAL", script, "1", lock, leases, held_by});
  const store::result answer = co_await sent;
  const auto *r = std::get_if<store::reply>(&answer);
  co_return r != nullptr && r->type == store::reply::kind::integer && r->integer == 1;
}

/// The call's one transfer among every replica's (coalesce.across_replicas): the first replica to
/// take the call's lock calls, writes the answer to Redis and publishes its name; the others wait
/// for it, never past their own limits, while its replica lives (its lease), then call themselves.
/// Redis not answering: the call goes on here alone. On the call's loop.
coro::task<call_outcome> across_replicas(call_stage *inner, call_request request, store::redis_store &redis,
                                         std::string key, route_record &route) {
  store::redis_link &link = redis.link(request.site.loop()->index());
  const std::string name = redis.key("co:" + auth::sha256_hex(key));
  const std::string lock = name + ":lock";
  const clock::time_point ends_by = flight::ends_by(*request.call);
  const std::string mine = redis.replica() + ":" + jobs::new_id();
  const std::string lock_ms = store::expiry_ms(ends_by - clock::now());  // a live leader's call ends by then
  const std::string lease = redis.lease_key(redis.replica());
  const std::string lease_ms = std::to_string(redis.lease().count());
  static const std::string claim{claim_lua};
  auto claimed = link.command({"EVAL", claim, "2", lock, lease, mine, lock_ms, lease_ms});
  const store::result answer = co_await claimed;
  const auto *r = std::get_if<store::reply>(&answer);
  if (r == nullptr || (r->type != store::reply::kind::integer && r->type != store::reply::kind::text))
    co_return co_await inner->run(std::move(request));
  if (r->type == store::reply::kind::integer) {  // the leader
    call_outcome outcome = co_await inner->run(std::move(request));
    // The answer is shared as a cache entry would be (failures are not: each replica calls itself),
    // for as long as followers take to read it.
    const auto keep_ms =
        std::to_string(failed(outcome.reply) ? 0 : std::max<long long>(1000, 4 * redis.config().timeout.count()));
    const std::string result = name + ":" + mine;
    static const std::string finish{finish_lua};
    std::vector<std::string_view> args{"EVAL", finish, "2", lock, result, mine, redis.signals().channel(), keep_ms};
    std::vector<std::string> texts;
    if (!failed(outcome.reply))
      append_entry(args, outcome.reply.status, outcome.reply.body, outcome.reply.headers, texts);
    auto finished = link.command(std::move(args));
    static_cast<void>(co_await finished);  // unanswered: the followers call themselves when the lock ends
    co_return outcome;
  }
  // A follower of the leader the lock names. Listening before looking: a result published in
  // between is not missed.
  const std::string held_by = r->text;
  const std::string result = name + ":" + held_by;
  store::redis_signals::ticket ticket = redis.signals().listen(request.site.loop()->events(), result);
  const std::string leases = redis.lease_key("");
  std::shared_ptr<const cached_reply> found = co_await shared_entry(link, result);
  bool leader_gone = false;  // done (with a result, or a failure it kept to itself), or dead
  while (!found && !leader_gone && !request.stop.stop_requested() && clock::now() < ends_by) {
    if (co_await ticket.wait(std::min(clock::now() + look_every, ends_by), request.stop))
      leader_gone = true;
    else if (!request.stop.stop_requested() && clock::now() < ends_by)
      leader_gone = !co_await leading(link, lock, leases, held_by);
    if (leader_gone) found = co_await shared_entry(link, result);
  }
  if (found) {
    route.counters.coalesced_across.fetch_add(1, std::memory_order_relaxed);
    call_outcome outcome = answer_from(*found, cache_state::none);
    outcome.coalesced = true;
    co_return outcome;
  }
  if (request.stop.stop_requested())
    co_return refused_outcome(calls::outcome_kind::cancelled, "cancelled while waiting for another replica's call");
  if (!leader_gone)  // past this call's limit: calling too, it would have timed out
    co_return refused_outcome(calls::outcome_kind::timeout, "the replica making this call did not answer in time");
  co_return co_await inner->run(std::move(request));
}

/// Runs the shared transfer; its frame owns the flight and what the inner stages need.
coro::detached run_flight(std::shared_ptr<flight> shared, [[maybe_unused]] std::shared_ptr<const void> keep_alive,
                          call_stage *inner, call_request request, loop_state *on_loop, std::string key,
                          store::redis_store *across, route_record *route) {
  call_outcome outcome;
  try {
    if (across != nullptr)
      outcome = co_await across_replicas(inner, std::move(request), *across, key, *route);
    else
      outcome = co_await inner->run(std::move(request));
  } catch (...) {
    outcome = outcome_of(std::current_exception());
  }
  if (const auto found = on_loop->flights.find(key); found != on_loop->flights.end() && found->second == shared)
    on_loop->flights.erase(found);
  shared->finish(std::move(outcome));
}

}  // namespace

std::string coalescing_key(const calls::upstream_call &call) {
  std::string key = cache_key(call);  // URL and forwarded headers: what makes the answer the same
  key += '\n';
  key += std::to_string(call.max_body_bytes);  // a different limit could end the transfer differently
  return key;
}

coro::task<call_outcome> coalesce_stage::run(call_request request) {
  if (!request.policy->coalesce || request.site.loop() == nullptr) return inner_.run(std::move(request));
  return joined(std::move(request));
}

coro::task<call_outcome> coalesce_stage::joined(call_request request) {
  loop_state &on_loop = shared_.loop(request.site.loop()->index());
  std::string key = coalescing_key(*request.call);
  std::shared_ptr<flight> joined;
  bool first = false;
  if (const auto found = on_loop.flights.find(key); found != on_loop.flights.end()) {
    if (!found->second->joinable(flight::ends_by(*request.call))) co_return co_await inner_.run(std::move(request));
    joined = found->second;
  } else {
    std::shared_ptr<const void> owner = keep_alive_.lock();
    joined = std::make_shared<flight>(request.site.loop()->events(), *request.call);
    on_loop.flights.emplace(key, joined);
    first = true;
    call_request shared_call = request;
    shared_call.call = &joined->call();
    shared_call.stop = joined->stop_token();
    store::redis_store *across = request.policy->coalesce_across_replicas ? shared_.store() : nullptr;
    run_flight(joined, std::move(owner), &inner_, std::move(shared_call), &on_loop, std::move(key), across,
               &shared_.route(request.route));
  }
  std::optional<call_outcome> outcome = co_await joined->wait(request.stop);
  if (!outcome) co_return refused_outcome(calls::outcome_kind::cancelled, "cancelled while waiting for a shared call");
  if (!first) {
    outcome->coalesced = true;
    shared_.route(request.route).counters.coalesced.fetch_add(1, std::memory_order_relaxed);
  }
  co_return std::move(*outcome);
}

}  // namespace agg::stages
