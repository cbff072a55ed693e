#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/coro/when_all_settled.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/fanout/run_plan.hpp"
#include "aggregator/stages/call_stage.hpp"
#include "aggregator/stages/shared_state.hpp"
#include "tests/support/routes.hpp"

namespace agg::testing {

/// What a scripted_stage answers to one call.
struct scripted_step {
  long status = 200;
  calls::outcome_kind kind = calls::outcome_kind::ok;  ///< ok: a response with `status`; else no response, why
  bool deadline_passed = false;                        ///< a timeout: the aggregation's deadline caused it
  std::string body = R"({"ok":true})";
  std::optional<std::chrono::steady_clock::duration> retry_after;  ///< the reply's Retry-After, from when it ends
  std::string cache_control;
  bool hold = false;                               ///< wait for release() or the stop token
  std::chrono::steady_clock::duration hold_for{};  ///< with hold: also end after this much (0: no time)
};
/// A step that answers `status`.
inline scripted_step answering(long status) {
  scripted_step s;
  s.status = status;
  return s;
}
/// A step that fails with `error` (no HTTP response).
inline scripted_step failing(calls::outcome_kind error) {
  scripted_step s;
  s.kind = error;
  return s;
}
/// A step held until released or cancelled, or at most `for_at_most` (zero: no time).
inline scripted_step held(std::chrono::steady_clock::duration for_at_most = {}) {
  scripted_step s;
  s.hold = true;
  s.hold_for = for_at_most;
  return s;
}

/// What became of one call it got.
struct scripted_call {
  std::size_t index;
  bool cancelled = false;  ///< its stop token ended it
  bool ended = false;
};

/// A stage in place of the fetch, for testing the stages above it without a network: the n-th call
/// it gets (0, 1, ... across every plan index) answers what `script(n, request)` says, at once or
/// after being held. A held call ends when its time comes, when release() is called, or, cancelled,
/// when its stop token is requested; it records which. Loop site or blocking site alike (a call is
/// held on the blocking site only for a time).
class scripted_stage final : public stages::call_stage {
 public:
  using clock = std::chrono::steady_clock;

  using step = scripted_step;
  using seen = scripted_call;

  explicit scripted_stage(std::function<step(std::size_t nth, const stages::call_request &)> script)
      : script_(std::move(script)) {}
  /// Every call answers `answer`.
  scripted_stage() : scripted_stage(step{}) {}
  explicit scripted_stage(step answer)
      : script_([answer](std::size_t, const stages::call_request &) { return answer; }) {}

  coro::task<stages::call_outcome> run(stages::call_request request) override {
    const std::size_t nth = calls_.size();
    calls_.push_back(seen{request.index});
    const step s = script_(nth, request);
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    stages::call_outcome outcome;
    outcome.reply.started = clock::now();
    if (s.hold) {
      const auto until = s.hold_for == clock::duration::zero() ? clock::time_point::max() : clock::now() + s.hold_for;
      if (client::upstream_loop *loop = request.site.loop()) {
        const std::uint64_t id = loop->events().new_waiter_id();
        held_.push_back(id);
        auto wait = loop->events().wait(id, until, request.stop);
        calls_[nth].cancelled = co_await wait == loop::event_loop::wake_reason::stop;
      } else {
        calls_[nth].cancelled = !co_await request.site.sleep_until(until, request.stop);
      }
    }
    --in_flight_;
    calls_[nth].ended = true;
    outcome.reply.finished = clock::now();
    if (calls_[nth].cancelled) {
      outcome.reply =
          calls::failed_reply(calls::outcome_kind::cancelled, calls::cancelled_by_request, outcome.reply.started);
      co_return outcome;
    }
    outcome.reply.kind = s.kind;
    if (s.kind == calls::outcome_kind::ok) {
      calls::set_response_status(outcome.reply, s.status);
      outcome.reply.body = s.body;
    } else {
      outcome.reply.error_detail = "scripted";
      outcome.reply.deadline_passed = s.deadline_passed;
    }
    if (s.retry_after) outcome.reply.retry_after = outcome.reply.finished + *s.retry_after;
    outcome.reply.cache_control = s.cache_control;
    co_return outcome;
  }

  /// Ends every held call (loop thread: from a coroutine on the loop, or posted to it).
  void release(loop::event_loop &events) {
    for (const std::uint64_t id : held_) events.wake(id);
    held_.clear();
  }

  [[nodiscard]] std::size_t calls() const noexcept { return calls_.size(); }
  [[nodiscard]] const std::vector<seen> &log() const noexcept { return calls_; }
  [[nodiscard]] std::size_t max_in_flight() const noexcept { return max_in_flight_; }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }

 private:
  std::function<step(std::size_t, const stages::call_request &)> script_;
  std::vector<seen> calls_;
  std::vector<std::uint64_t> held_;
  std::size_t in_flight_ = 0;
  std::size_t max_in_flight_ = 0;
};

/// One route's plans run through hand-made stages on one loop (or blocking), with the shared state
/// the stages keep. `route_json` is the route's definition without its name, path and upstreams;
/// its one upstream entry repeats `http://127.0.0.1:9/x?i={i}` (never called: the scripted stage
/// answers) with the entry's own keys from `entry_json`.
struct stage_bench {
  explicit stage_bench(const std::string &route_json = "", const std::string &entry_json = "",
                       std::size_t max_per_origin = 0)
      : config(config_from(R"({"server":{"listen":"127.0.0.1:0"},"routes":[{"name":"r","path":"/r",)" +
                           (route_json.empty() ? "" : route_json + ",") +
                           R"("num":{"default":1,"max":100},"upstreams":[{"url":"http://127.0.0.1:9/x?i={i}",)" +
                           (entry_json.empty() ? "" : entry_json + ",") + R"("repeat":true}]}]})")),
        shared(1, max_per_origin) {}
  stage_bench(const stage_bench &) = delete;
  stage_bench &operator=(const stage_bench &) = delete;

  /// A plan of `num` calls, its deadline `deadline` from now (the route's when unset).
  [[nodiscard]] fanout::fan_out_plan plan(std::size_t num, std::optional<std::chrono::milliseconds> deadline = {}) {
    fanout::query_params query{{"num", std::to_string(num)}};
    if (deadline) query.emplace("timeout_ms", std::to_string(deadline->count()));
    return std::get<fanout::fan_out_plan>(fanout::make_plan(config.routes.at(0), query));
  }

  /// Runs `p` through `stage` on the loop; blocks until every call settled. A composed plan grows
  /// as it runs: pass it by reference to read its calls afterwards.
  std::vector<stages::call_outcome> run(stages::call_stage &stage, fanout::fan_out_plan &p, std::stop_token stop = {}) {
    return coro::sync_wait(fanout::run_plan(&p, &stage, stages::call_site::on_loop(loop), std::move(stop)));
  }
  std::vector<stages::call_outcome> run(stages::call_stage &stage, fanout::fan_out_plan &&p,
                                        std::stop_token stop = {}) {
    return run(stage, p, std::move(stop));
  }
  /// The same, one call after another on this thread (the sync baseline's site).
  std::vector<stages::call_outcome> run_blocking(stages::call_stage &stage, fanout::fan_out_plan &p,
                                                 std::stop_token stop = {}) {
    return coro::sync_wait(fanout::run_plan(&p, &stage, stages::call_site::blocking(options), std::move(stop)));
  }
  std::vector<stages::call_outcome> run_blocking(stages::call_stage &stage, fanout::fan_out_plan &&p,
                                                 std::stop_token stop = {}) {
    return run_blocking(stage, p, std::move(stop));
  }

  /// Runs several plans at once on the loop, each with its own stop token, then `then` (a coroutine
  /// started on the loop after every plan has started and is waiting, e.g. to cancel one of them or
  /// release held calls).
  std::vector<std::vector<stages::call_outcome>> run_together(stages::call_stage &stage,
                                                              const std::vector<fanout::fan_out_plan *> &plans,
                                                              const std::vector<std::stop_token> &stops,
                                                              std::function<void()> then) {
    return coro::sync_wait(together(stage, plans, stops, std::move(then)));
  }

  /// Returns once the loop has run what this round still had to do (a cancelled transfer that
  /// outlives its waiters, say): what it did is then visible here.
  void settle() {
    static_cast<void>(loop.events().call([] {}));
    static_cast<void>(loop.events().call([] {}));
  }

  config::service_config config;
  client::client_options options;
  stages::shared_state shared;
  client::upstream_loop loop{options, 100};  ///< stops (ending what it runs) before `shared` goes

 private:
  coro::task<std::vector<stages::call_outcome>> plan_on_loop(stages::call_stage *stage, fanout::fan_out_plan *p,
                                                             std::stop_token stop) {
    co_return co_await fanout::run_plan(p, stage, stages::call_site::on_loop(loop), std::move(stop));
  }
  coro::task<std::vector<stages::call_outcome>> after_all(std::function<void()> then) {
    // Posted: it runs once every plan started before it has gone as far as it can this round.
    co_await loop.schedule();
    std::function<void()> later = std::move(then);
    static_cast<void>(loop.events().post([later] { later(); }));
    co_return std::vector<stages::call_outcome>{};
  }
  coro::task<std::vector<std::vector<stages::call_outcome>>> together(stages::call_stage &stage,
                                                                      std::vector<fanout::fan_out_plan *> plans,
                                                                      std::vector<std::stop_token> stops,
                                                                      std::function<void()> then) {
    co_await loop.schedule();
    std::vector<coro::task<std::vector<stages::call_outcome>>> runs;
    for (std::size_t i = 0; i < plans.size(); ++i) runs.push_back(plan_on_loop(&stage, plans[i], stops[i]));
    runs.push_back(after_all(std::move(then)));
    auto settled = co_await coro::when_all_settled(std::move(runs));
    std::vector<std::vector<stages::call_outcome>> out;
    for (std::size_t i = 0; i < plans.size(); ++i) out.push_back(std::move(settled[i]).value());
    co_return out;
  }
};

}  // namespace agg::testing
