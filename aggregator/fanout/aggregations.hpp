#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string_view>
#include <variant>

#include "aggregator/client/client_options.hpp"
#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/fanout/background_aggregation.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/loop/blocking_pool.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::fanout {

/// Hears of each call's settled result the moment it arrives (completion order), on the loop
/// thread: the stream writes it out. Must not block.
using arrival_listener = std::function<void(std::size_t index, const upstream_result &result)>;

/// The aggregation behind one door: a route and a request's values become a plan; the plan's calls
/// run through the route's stages, all at once on a loop, one after another on the blocking pool
/// (the sync baseline), or in the background (jobs); their outcomes settle into an aggregate, which
/// render() turns into the document. Endpoints, jobs, tests and benchmarks need nothing else of the
/// aggregation, and nothing of HTTP is in it. What it is handed must outlive it. Thread-safe.
class aggregations {
 public:
  /// `stages`: what every aggregation's call stages share; `pool` runs the sync baseline with
  /// curl easy and `blocking` options.
  aggregations(std::shared_ptr<stages::shared_state> stages, loop::blocking_pool &pool,
               const client::client_options &blocking) noexcept
      : stages_(std::move(stages)), pool_(pool), blocking_(blocking) {}

  /// The calls a request to `route` makes (see make_plan), or why it cannot make them (a 4xx).
  [[nodiscard]] std::variant<fan_out_plan, request_error> plan(config::route_ptr route, const query_params &query,
                                                               const header_lookup &headers = {},
                                                               std::string_view body = {},
                                                               call_marks marks = {}) const {
    return make_plan(std::move(route), query, headers, body, std::move(marks));
  }

  /// Every call at once on `loop` (asyncio.gather), through the route's stages; each result settled
  /// (parsed, shaped) as it arrives and told to `listener` (optional; it must outlive the task).
  /// Cancelled by `stop`. Resumes on the loop thread.
  [[nodiscard]] coro::task<aggregate> gather(fan_out_plan plan, client::upstream_loop &loop, std::stop_token stop,
                                             const arrival_listener *listener = nullptr) const;
  /// The sync baseline: the same calls through the same stages one after another on a pool thread
  /// (sync_to_async); resumes on `resume_on`. Nullopt when every pool thread is busy and its queue is full.
  [[nodiscard]] coro::task<std::optional<aggregate>> gather_one_by_one(fan_out_plan plan, loop::event_loop &resume_on,
                                                                       std::stop_token stop) const;
  /// Starts the calls on `loop` with nobody waiting (asyncio.create_task): a job's run.
  [[nodiscard]] std::shared_ptr<background_aggregation> start_background(fan_out_plan plan,
                                                                         client::upstream_loop &loop) const;

 private:
  std::shared_ptr<stages::shared_state> stages_;
  loop::blocking_pool &pool_;
  const client::client_options &blocking_;
};

}  // namespace agg::fanout
