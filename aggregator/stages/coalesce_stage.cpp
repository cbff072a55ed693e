#include "aggregator/stages/coalesce_stage.hpp"

#include "aggregator/coro/detached.hpp"
#include "aggregator/stages/cache_stage.hpp"
#include "aggregator/stages/flight.hpp"

namespace agg::stages {

namespace {

/// Runs the shared transfer; its frame owns the flight and what the inner stages need.
coro::detached run_flight(std::shared_ptr<flight> shared, [[maybe_unused]] std::shared_ptr<const void> keep_alive,
                          call_stage *inner, call_request request, loop_state *on_loop, std::string key) {
  call_outcome outcome;
  try {
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
    run_flight(joined, std::move(owner), &inner_, std::move(shared_call), &on_loop, std::move(key));
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
