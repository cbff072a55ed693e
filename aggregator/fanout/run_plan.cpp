#include "aggregator/fanout/run_plan.hpp"

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/coro/when_all_settled.hpp"
#include "aggregator/stages/fetch_stage.hpp"

namespace agg::fanout {

namespace {

using clock = std::chrono::steady_clock;

/// One call through the stage, reported the moment it is over. A call the route's window held back
/// (it starts when an earlier one ends) counts the wait since `planned` as queued.
coro::task<stages::call_outcome> run_one(const fan_out_plan *plan, stages::call_stage *stage, stages::call_site site,
                                         std::size_t index, std::stop_token stop, const outcome_listener *listener,
                                         std::optional<clock::time_point> planned) {
  const auto begun = clock::now();
  // Named: g++ 12 destroys an aggregate temporary in a co_await expression twice.
  stages::call_request request{.index = index,
                               .call = &plan->calls[index],
                               .policy = plan->policies[index],
                               .route = plan->route->name,
                               .stop = std::move(stop),
                               .site = site};
  stages::call_outcome outcome;
  try {
    if (stages::fetch_stage *fetch = stage->as_fetch()) {  // nothing but the call: no stage frame
      outcome.reply = co_await stages::fetch_stage::send(*request.call, request.site, std::move(request.stop));
      fetch->record(*request.call, outcome.reply);
    } else {
      outcome = co_await stage->run(std::move(request));
    }
  } catch (...) {
    outcome = stages::outcome_of(std::current_exception());
  }
  if (planned) outcome.queued += begun - *planned;
  if (listener != nullptr) (*listener)(index, outcome);
  co_return outcome;
}

}  // namespace

coro::task<std::vector<stages::call_outcome>> run_plan(const fan_out_plan *plan, stages::call_stage *stage,
                                                       stages::call_site site, std::stop_token stop,
                                                       const outcome_listener *listener) {
  if (site.loop() != nullptr) co_await site.loop()->schedule();
  const std::size_t window = site.loop() == nullptr ? 1 : plan->route->concurrency;
  const auto planned = clock::now();
  std::vector<coro::task<stages::call_outcome>> calls;
  calls.reserve(plan->calls.size());
  for (std::size_t i = 0; i < plan->calls.size(); ++i) {
    // The sync baseline's one-at-a-time is its nature, not a wait for a slot.
    const bool held_back = site.loop() != nullptr && window != 0 && i >= window;
    calls.push_back(run_one(plan, stage, site, i, stop, listener, held_back ? std::optional{planned} : std::nullopt));
  }
  auto settled = co_await coro::when_all_settled(std::move(calls), window);
  std::vector<stages::call_outcome> outcomes;
  outcomes.reserve(settled.size());
  for (auto &s : settled) outcomes.push_back(s.has_value() ? std::move(s).value() : stages::outcome_of(s.error()));
  co_return outcomes;
}

aggregate run_async(client::upstream_client &client, const fan_out_plan &plan, const std::stop_token &stop) {
  const auto started = std::chrono::steady_clock::now();
  stages::fetch_stage fetch;
  auto outcomes = coro::sync_wait(run_plan(&plan, &fetch, stages::call_site::on_loop(client.pick_loop()), stop));
  return settle(plan, execution_mode::async, std::move(outcomes), started);
}

aggregate run_sync(const client::client_options &options, const fan_out_plan &plan, const std::stop_token &stop) {
  const auto started = std::chrono::steady_clock::now();
  stages::fetch_stage fetch;
  auto outcomes = coro::sync_wait(run_plan(&plan, &fetch, stages::call_site::blocking(options), stop));
  return settle(plan, execution_mode::sync, std::move(outcomes), started);
}

}  // namespace agg::fanout
