#include "aggregator/stages/budget_stage.hpp"

namespace agg::stages {

coro::task<call_outcome> budget_stage::run(call_request request) {
  if (request.policy->budget) shared_.route(request.route).budget.record_call(std::chrono::steady_clock::now());
  return inner_.run(std::move(request));
}

}  // namespace agg::stages
