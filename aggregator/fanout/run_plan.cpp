#include "aggregator/fanout/run_plan.hpp"

#include <boost/json/array.hpp>

#include <chrono>
#include <coroutine>
#include <deque>
#include <exception>
#include <iterator>
#include <optional>
#include <utility>

#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/coro/when_all_settled.hpp"
#include "aggregator/fanout/call_window.hpp"
#include "aggregator/fanout/entry_calls.hpp"
#include "aggregator/stages/fetch_stage.hpp"

namespace agg::fanout {

namespace {

using clock = std::chrono::steady_clock;

/// The call's request to the stage: a plain function, so the request costs no frame of its own.
coro::task<stages::call_outcome> send_plan_call(fan_out_plan *plan, stages::call_stage *stage, stages::call_site site,
                                                std::size_t index, std::stop_token stop) {
  return stage->run(stages::call_request{.index = index,
                                         .call = &plan->calls[index],
                                         .policy = plan->policy(index),
                                         .route = plan->route->name,
                                         .stop = std::move(stop),
                                         .site = site});
}

/// A call's outcome once it is over (`done`, or the transport failure `failure` stands for): the
/// wait since `planned` (in its route's window) counted as queued, and the listener told.
stages::call_outcome call_reported(stages::call_outcome *done, const std::exception_ptr &failure, std::size_t index,
                                   clock::time_point begun, const std::optional<clock::time_point> &planned,
                                   const outcome_listener *listener) {
  stages::call_outcome outcome = done != nullptr ? std::move(*done) : stages::outcome_of(failure);
  if (planned) outcome.queued += begun - *planned;
  if (listener != nullptr) (*listener)(index, outcome);
  return outcome;
}

/// One call through the stage, reported the moment it is over; with `Keep`, its outcome is also the
/// task's value, else the listener alone has it (and the plan keeps none of its outcomes). The
/// outcome waits in the stage's frame, not in this one: this frame holds a reference to it.
template <bool Keep>
std::conditional_t<Keep, coro::task<stages::call_outcome>, coro::task<void>> run_one(
    fan_out_plan *plan, stages::call_stage *stage, stages::call_site site, std::size_t index, std::stop_token stop,
    const outcome_listener *listener, std::optional<clock::time_point> planned) {
  const auto begun = clock::now();
  coro::task<stages::call_outcome> running;
  stages::call_outcome *done = nullptr;
  std::exception_ptr failure;
  try {
    running = send_plan_call(plan, stage, site, index, std::move(stop));
    stages::call_outcome &&outcome = co_await std::move(running);
    done = &outcome;
  } catch (...) {
    failure = std::current_exception();
  }
  if constexpr (Keep)
    co_return call_reported(done, failure, index, begun, planned, listener);
  else
    static_cast<void>(call_reported(done, failure, index, begun, planned, listener));
}

/// The state of a composed plan's run: each entry starts once the entries it uses have finished,
/// plans its calls from their results and runs them; a failed entry's dependents are skipped.
struct graph_run {
  struct entry_state {
    bool done = false;
    std::optional<std::string> failure;  ///< how it failed (an error kind), for its dependents
    boost::json::value value;            ///< its named result, once done (when another entry uses it)
    std::vector<std::size_t> calls;      ///< its calls' plan indices
    std::vector<std::coroutine_handle<>> waiters;
    bool used = false;  ///< another entry takes values from it
  };

  fan_out_plan *plan;
  stages::call_stage *stage;
  stages::call_site site;
  std::stop_token stop;
  const outcome_listener *listener;
  call_window gate;
  std::vector<entry_state> entries;
  std::deque<stages::call_outcome> outcomes;  // by plan index

  [[nodiscard]] auto finished(std::size_t entry) noexcept {
    struct awaiter {
      entry_state &state;
      bool await_ready() const noexcept { return state.done; }
      void await_suspend(std::coroutine_handle<> waiter) { state.waiters.push_back(waiter); }
      void await_resume() const noexcept {}
    };
    return awaiter{entries[entry]};
  }

  void finish(std::size_t entry) {
    entry_state &state = entries[entry];
    state.done = true;
    for (const std::coroutine_handle<> waiter : std::exchange(state.waiters, {})) waiter.resume();
  }

  /// Entry `entry`'s one slot, not sent because of `kind`; `why` says more.
  void unsent(std::size_t entry, calls::outcome_kind kind, const std::string &why) {
    const std::size_t index = plan_unsent(*plan, entry, kind);
    outcomes.resize(plan->calls.size());
    stages::call_outcome &outcome = outcomes[index];
    outcome.reply.error_detail = why;
    outcome.reply.started = outcome.reply.finished = clock::now();
    outcome.attempts = 0;
    entries[entry].calls.push_back(index);
    entries[entry].failure = std::string{to_string(kind)};
    if (listener != nullptr) (*listener)(index, outcome);
  }

  coro::task<void> run_call(std::size_t index) {
    const auto planned = clock::now();
    const bool waited = co_await gate.acquire();
    outcomes[index] = co_await run_one<true>(plan, stage, site, index, stop, listener,
                                             waited ? std::optional{planned} : std::nullopt);
    gate.release();  // may resume a waiting call here: this one's outcome is stored first
  }

  /// Plans entry `entry` (unless it was planned with the request) and runs its calls.
  coro::task<void> start(std::size_t entry) {
    const config::upstream_entry &spec = plan->route->upstreams[entry];
    entry_state &state = entries[entry];
    for (const std::size_t used : spec.uses) {
      co_await finished(used);
      const auto &dependency = entries[used];
      if (dependency.failure && !state.failure) {
        const std::string &name = plan->route->upstreams[used].name;
        state.failure = name + " failed (" + *dependency.failure + ")";  // the first one, in uses order
      }
    }
    if (state.failure) {
      unsent(entry, calls::outcome_kind::skipped, "not sent: " + *state.failure);
      state.failure = "skipped";
    } else if (spec.chained()) {
      const std::size_t first = plan->calls.size();
      const entry_values values = [this](std::size_t e) -> const boost::json::value * {
        return entries[e].done && !entries[e].failure ? &entries[e].value : nullptr;
      };
      if (const auto failure = plan_entry(*plan, entry, values)) {
        unsent(entry, failure->kind, failure->message);
      } else {
        outcomes.resize(plan->calls.size());
        for (std::size_t i = first; i < plan->calls.size(); ++i) state.calls.push_back(i);
        co_await run_calls(state.calls);
      }
    } else {
      co_await run_calls(state.calls);
    }
    if (state.used && !state.failure) take_value(entry);
  }

  coro::task<void> run_calls(const std::vector<std::size_t> &indices) {
    std::vector<coro::task<void>> calls;
    calls.reserve(indices.size());
    for (const std::size_t index : indices) calls.push_back(run_call(index));
    co_await coro::when_all_settled(std::move(calls), site.loop() == nullptr ? 1 : 0);
  }

  /// The entry's named result, for the entries that use it: its body, or the array of its bodies;
  /// a call that failed fails the entry.
  void take_value(std::size_t entry) {
    entry_state &state = entries[entry];
    boost::json::array bodies;
    for (const std::size_t index : state.calls) {
      upstream_result facts;
      boost::json::value body = settle_body(*plan, index, outcomes[index], facts);
      if (facts.kind != calls::outcome_kind::ok) {
        state.failure = std::string{to_string(facts.kind)};
        return;
      }
      bodies.push_back(std::move(body));
    }
    if (plan->route->upstreams[entry].multiple())
      state.value = std::move(bodies);
    else if (!bodies.empty())
      state.value = std::move(bodies.front());
  }

  /// Starts entry `entry`; whatever happens, it finishes, so that its dependents never wait forever
  /// (a failure of ours, such as memory running out while it plans, fails it and skips them).
  coro::task<void> run_entry(std::size_t entry) {
    try {
      co_await start(entry);
    } catch (...) {
      entries[entry].failure = "internal error";
    }
    finish(entry);
  }
};

coro::task<std::vector<stages::call_outcome>> run_graph(fan_out_plan *plan, stages::call_stage *stage,
                                                        stages::call_site site, std::stop_token stop,
                                                        const outcome_listener *listener) {
  const config::route_config &route = *plan->route;
  graph_run run{
      plan, stage, site, std::move(stop), listener, call_window{site.loop() == nullptr ? 0 : route.concurrency}};
  run.entries.resize(route.upstreams.size());
  run.outcomes.resize(plan->calls.size());
  for (std::size_t i = 0; i < plan->calls.size(); ++i) run.entries[plan->places[i].entry].calls.push_back(i);
  for (const auto &entry : route.upstreams)
    for (const std::size_t used : entry.uses) run.entries[used].used = true;
  std::vector<coro::task<void>> entries;
  entries.reserve(route.order.size());
  for (const std::size_t entry : route.order) entries.push_back(run.run_entry(entry));
  // All at once on a loop (each waits for what it uses); one after another, in dependency order, on
  // the blocking site: the sync baseline's sum against the critical path.
  co_await coro::when_all_settled(std::move(entries), site.loop() == nullptr ? 1 : 0);
  co_return std::vector<stages::call_outcome>(std::make_move_iterator(run.outcomes.begin()),
                                              std::make_move_iterator(run.outcomes.end()));
}

/// The plan's calls (not composed), each a run_one<Keep>: those beyond the route's window count
/// their wait for a slot as queued.
template <bool Keep>
auto plain_plan_calls(fan_out_plan *plan, stages::call_stage *stage, stages::call_site site,
                      const std::stop_token &stop, const outcome_listener *listener, std::size_t window) {
  const auto planned = clock::now();
  std::vector<decltype(run_one<Keep>(plan, stage, site, 0, stop, listener, std::nullopt))> calls;
  calls.reserve(plan->calls.size());
  for (std::size_t i = 0; i < plan->calls.size(); ++i) {
    // The sync baseline's one-at-a-time is its nature, not a wait for a slot.
    const bool held_back = site.loop() != nullptr && window != 0 && i >= window;
    calls.push_back(
        run_one<Keep>(plan, stage, site, i, stop, listener, held_back ? std::optional{planned} : std::nullopt));
  }
  return calls;
}

std::size_t plan_window(const fan_out_plan &plan, const stages::call_site &site) {
  return site.loop() == nullptr ? 1 : plan.route->concurrency;
}

}  // namespace

coro::task<std::vector<stages::call_outcome>> run_plan(fan_out_plan *plan, stages::call_stage *stage,
                                                       stages::call_site site, std::stop_token stop) {
  if (site.loop() != nullptr) co_await site.loop()->schedule();
  if (plan->route->composed) co_return co_await run_graph(plan, stage, site, std::move(stop), nullptr);
  const std::size_t window = plan_window(*plan, site);
  auto settled =
      co_await coro::when_all_settled(plain_plan_calls<true>(plan, stage, site, stop, nullptr, window), window);
  std::vector<stages::call_outcome> outcomes;
  outcomes.reserve(settled.size());
  for (auto &s : settled) outcomes.push_back(s.has_value() ? std::move(s).value() : stages::outcome_of(s.error()));
  co_return outcomes;
}

coro::task<void> report_plan(fan_out_plan *plan, stages::call_stage *stage, stages::call_site site,
                             std::stop_token stop, const outcome_listener &listener) {
  if (site.loop() != nullptr) co_await site.loop()->schedule();
  if (plan->route->composed) {
    static_cast<void>(co_await run_graph(plan, stage, site, std::move(stop), &listener));
    co_return;
  }
  const std::size_t window = plan_window(*plan, site);
  static_cast<void>(
      co_await coro::when_all_settled(plain_plan_calls<false>(plan, stage, site, stop, &listener, window), window));
}

aggregate run_async(client::upstream_client &client, fan_out_plan plan, const std::stop_token &stop) {
  const auto started = std::chrono::steady_clock::now();
  stages::fetch_stage fetch;
  auto outcomes = coro::sync_wait(run_plan(&plan, &fetch, stages::call_site::on_loop(client.pick_loop()), stop));
  return settle(plan, execution_mode::async, std::move(outcomes), started);
}

aggregate run_sync(const client::client_options &options, fan_out_plan plan, const std::stop_token &stop) {
  const auto started = std::chrono::steady_clock::now();
  stages::fetch_stage fetch;
  auto outcomes = coro::sync_wait(run_plan(&plan, &fetch, stages::call_site::blocking(options), stop));
  return settle(plan, execution_mode::sync, std::move(outcomes), started);
}

}  // namespace agg::fanout
