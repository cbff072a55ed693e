#include "aggregator/fanout/aggregations.hpp"

#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/fanout/run_plan.hpp"
#include "aggregator/stages/pipeline.hpp"

namespace agg::fanout {

using clock = std::chrono::steady_clock;

coro::task<aggregate> aggregations::gather(fan_out_plan plan, client::upstream_loop &loop, std::stop_token stop,
                                           const arrival_listener *listener) const {
  arrival_settler settler{plan, execution_mode::async, clock::now()};
  const outcome_listener on_outcome = [&settler, listener](std::size_t index, const stages::call_outcome &outcome) {
    const upstream_result &settled = settler(index, outcome);  // shaped as it arrives
    if (listener != nullptr) (*listener)(index, settled);
  };
  const auto calls = stages::pipeline::make(plan.route, stages_);
  co_await report_plan(&plan, &calls->entry(), stages::call_site::on_loop(loop), std::move(stop), on_outcome);
  co_return settler.take();
}

coro::task<std::optional<aggregate>> aggregations::gather_one_by_one(fan_out_plan plan, loop::event_loop &resume_on,
                                                                     std::stop_token stop) const {
  const auto site = stages::call_site::blocking(blocking_);
  const auto calls = stages::pipeline::make(plan.route, stages_);
  const auto work = [&site, &calls, &plan, &stop] {
    const auto started = clock::now();
    auto outcomes = coro::sync_wait(run_plan(&plan, &calls->entry(), site, stop));
    return settle(plan, execution_mode::sync, std::move(outcomes), started);
  };
  co_return co_await pool_.run(resume_on, work);
}

std::shared_ptr<background_aggregation> aggregations::start_background(fan_out_plan plan,
                                                                       client::upstream_loop &loop) const {
  return background_aggregation::start(stages::call_site::on_loop(loop), std::move(plan), stages_);
}

}  // namespace agg::fanout
