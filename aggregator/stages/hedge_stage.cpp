#include "aggregator/stages/hedge_stage.hpp"

#include <algorithm>
#include <vector>

#include "aggregator/coro/detached.hpp"

namespace agg::stages {

namespace {

using clock = std::chrono::steady_clock;

/// The calls racing for one slot; lives in the hedging coroutine's frame, which waits for every
/// branch to end before it returns. Loop thread only.
struct race {
  race(loop::event_loop &loop, std::size_t branches) : events(loop), outcomes(branches), stops(branches) {}

  loop::event_loop &events;
  std::uint64_t waiter = events.new_waiter_id();  ///< the hedging coroutine, when it waits
  std::vector<std::optional<call_outcome>> outcomes;
  std::vector<std::stop_source> stops;  ///< one per branch: the losers are cancelled alone
  std::size_t started = 0;
  std::size_t running = 0;
  std::optional<std::size_t> winner;

  [[nodiscard]] bool settled() const noexcept { return winner.has_value() || running == 0; }
};

/// One branch: the call through the inner stages; tells the race when it ends.
coro::detached run_branch(race *r, std::size_t index, call_stage *inner, call_request request) {
  call_outcome outcome;
  try {
    outcome = co_await inner->run(std::move(request));
  } catch (...) {
    outcome = outcome_of(std::current_exception());
  }
  if (!r->winner && !failed(outcome.reply)) r->winner = index;
  r->outcomes[index] = std::move(outcome);
  --r->running;
  r->events.wake(r->waiter);
}

void start_branch(race &r, call_stage &inner, const call_request &request) {
  const std::size_t index = r.started++;
  ++r.running;
  call_request branch = request;
  branch.stop = r.stops[index].get_token();
  run_branch(&r, index, &inner, std::move(branch));
}

/// Cancels every branch when the aggregation is cancelled; runs on the thread that cancels it.
struct cancel_all {
  race *r;
  void operator()() const noexcept {
    for (auto &stop : r->stops) stop.request_stop();
  }
};

}  // namespace

coro::task<call_outcome> hedge_stage::run(call_request request) {
  if (!request.policy->hedge || request.site.loop() == nullptr) return inner_.run(std::move(request));
  return hedged(std::move(request));
}

coro::task<call_outcome> hedge_stage::hedged(call_request request) {
  const config::hedge_policy &policy = *request.policy->hedge;
  const config::budget_policy &budget = *request.policy->budget;  // set with every hedge policy
  route_record &route = shared_.route(request.route);

  clock::duration delay = policy.after;
  if (policy.after_percentile)
    if (const auto seen = shared_.origin(request.call->origin()).stats.latency_percentile(*policy.after_percentile))
      delay = std::max<clock::duration>(delay, *seen);

  race r{request.site.loop()->events(), 1 + policy.max_extra};
  const std::stop_callback on_cancel{request.stop, cancel_all{&r}};
  start_branch(r, inner_, request);
  auto next_hedge = clock::now() + delay;
  while (!r.settled()) {
    const bool may_hedge =
        r.started < r.outcomes.size() && next_hedge < request.call->deadline && !request.stop.stop_requested();
    auto wait = r.events.wait(r.waiter, may_hedge ? next_hedge : clock::time_point::max());  // named: see wait
    const auto woke = co_await wait;
    if (woke != loop::event_loop::wake_reason::time || r.settled()) continue;
    if (!route.budget.try_spend(budget, clock::now())) {
      route.counters.retry_refusals.fetch_add(1, std::memory_order_relaxed);
      next_hedge = clock::time_point::max();
      continue;
    }
    route.counters.hedges.fetch_add(1, std::memory_order_relaxed);
    start_branch(r, inner_, request);
    next_hedge = clock::now() + delay;
  }
  // The losers go now; their transfers leave curl at once, and the race waits for them to end.
  for (std::size_t i = 0; i < r.started; ++i)
    if (!r.outcomes[i]) r.stops[i].request_stop();
  while (r.running > 0) {
    auto wait = r.events.wait(r.waiter, clock::time_point::max());
    static_cast<void>(co_await wait);
  }
  const std::size_t chosen = r.winner.value_or(0);
  call_outcome outcome = std::move(*r.outcomes[chosen]);
  unsigned sent = 0;
  for (std::size_t i = 0; i < r.started; ++i) sent += r.outcomes[i]->attempts;
  outcome.attempts = sent;
  if (r.started > 1) {
    outcome.hedged = static_cast<unsigned>(chosen);
    if (chosen > 0 && r.winner) route.counters.hedges_won.fetch_add(1, std::memory_order_relaxed);
  }
  co_return outcome;
}

}  // namespace agg::stages
