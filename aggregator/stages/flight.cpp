#include "aggregator/stages/flight.hpp"

#include <algorithm>

namespace agg::stages {

coro::task<std::optional<call_outcome>> flight::wait(std::stop_token stop) {
  if (!outcome_) {
    const std::uint64_t id = events_.new_waiter_id();
    waiting_.push_back(id);
    auto until_done = events_.wait(id, std::chrono::steady_clock::time_point::max(), std::move(stop));  // named
    const auto woke = co_await until_done;
    if (woke != loop::event_loop::wake_reason::signal) {
      std::erase(waiting_, id);
      if (waiting_.empty() && !outcome_) stop_.request_stop();  // nobody is left to use the answer
      co_return std::nullopt;
    }
  }
  co_return outcome_;
}

void flight::finish(call_outcome outcome) {
  outcome_ = std::move(outcome);
  for (const std::uint64_t id : waiting_) events_.wake(id);
  waiting_.clear();
}

}  // namespace agg::stages
