#pragma once

#include <cstddef>
#include <functional>
#include <stop_token>
#include <vector>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/stages/call_stage.hpp"

namespace agg::fanout {

/// Hears of each call's outcome the moment it is known (completion order), with its plan index, on
/// the thread running the plan: the stream and background jobs report as results arrive with it.
/// Must not block.
using outcome_listener = std::function<void(std::size_t index, const stages::call_outcome &outcome)>;

/// Runs every call of `plan` through `stage` on `site` (asyncio.gather): at most the route's
/// `concurrency` at once (all when it is 0), and one at a time on the blocking site; all of them
/// cancelled by `stop`. A composed route's plan is a graph: each chained entry is planned (its calls
/// appended to `plan`) and started the moment every entry it uses has finished, not level by level;
/// one whose dependency failed gets a `skipped` slot. On the blocking site the entries run one after
/// another in the route's dependency order. One outcome per call, in plan order, whatever became of
/// each: a stage that throws fills its slot as a transport failure. On a loop site the caller
/// resumes on the loop thread; on the blocking site everything runs on the calling thread.
coro::task<std::vector<stages::call_outcome>> run_plan(fan_out_plan *plan, stages::call_stage *stage,
                                                       stages::call_site site, std::stop_token stop);

/// The same run, each outcome handed to `listener` the moment it is known and kept by nothing else
/// (a composed plan keeps those its dependents read): for the callers that settle results as they
/// arrive (the data plane, background jobs), ten thousand calls in flight hold no second copy of
/// their outcomes. `listener` must outlive the task.
coro::task<void> report_plan(fan_out_plan *plan, stages::call_stage *stage, stages::call_site site,
                             std::stop_token stop, const outcome_listener &listener);

/// The plan's calls made concurrently on one of the client's loops with nothing but the fetch
/// itself (none of the route's behaviours, which need an engine: see stages::pipeline); blocks the
/// calling thread until every call has settled (Django's async_to_sync). For tests and benchmarks of
/// the engine; never call it from a loop thread.
aggregate run_async(client::upstream_client &client, fan_out_plan plan, const std::stop_token &stop = {});

/// The same calls one after another on the calling thread: the sync baseline, likewise bare.
aggregate run_sync(const client::client_options &options, fan_out_plan plan, const std::stop_token &stop = {});

}  // namespace agg::fanout
