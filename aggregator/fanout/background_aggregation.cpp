#include "aggregator/fanout/background_aggregation.hpp"

#include <coroutine>
#include <exception>
#include <utility>

#include "aggregator/coro/detached.hpp"
#include "aggregator/fanout/run_plan.hpp"
#include "aggregator/stages/pipeline.hpp"

namespace agg::fanout {

/// Runs the plan of a background aggregation; its frame keeps the aggregation alive until done.
struct background_runner {
  static coro::detached run(std::shared_ptr<background_aggregation> self, stages::call_site site,
                            std::shared_ptr<stages::shared_state> shared) {
    background_aggregation *const raw = self.get();
    const outcome_listener listener = [raw](std::size_t index, const stages::call_outcome &outcome) {
      raw->on_outcome(index, outcome);
    };
    const auto calls = stages::pipeline::make(self->plan_.route, std::move(shared));
    co_await report_plan(&self->plan_, &calls->entry(), site, self->stop_.get_token(), listener);
    self->on_done();
  }
};

background_aggregation::background_aggregation(fan_out_plan plan)
    : plan_(std::move(plan)),
      route_(plan_.route),
      deadline_(plan_.deadline),
      planned_(plan_.calls.size()),
      budget_(plan_.budget) {}

std::shared_ptr<background_aggregation> background_aggregation::start(stages::call_site site, fan_out_plan plan,
                                                                      std::shared_ptr<stages::shared_state> shared) {
  auto self = std::make_shared<background_aggregation>(std::move(plan));
  background_runner::run(self, site, std::move(shared));
  return self;
}

namespace {

/// What keeping a settled result costs, roughly: the slot, its texts, and the parsed body's tree,
/// about three times the text it came as plus its nodes (bench/RESULTS.md, "Bounds": the estimate
/// against the RSS of 1 000 kept jobs).
std::size_t held_by(const upstream_result &r) {
  std::size_t bytes =
      sizeof(background_aggregation::arrival) + r.url.size() + r.detail.size() + r.name.size() + 3 * r.bytes + 128;
  for (const auto &[name, value] : r.headers) bytes += name.size() + value.size() + 64;
  return bytes;
}

}  // namespace

void background_aggregation::on_outcome(std::size_t index, const stages::call_outcome &outcome) {
  // Default storage, not an arena: readers copy the results on their own threads.
  upstream_result settled = settle_one(plan_, index, outcome, started_);
  {
    const std::lock_guard lock{mutex_};
    held_bytes_ += held_by(settled);
    arrivals_.push_back({index, std::move(settled)});
    planned_ = plan_.calls.size();
  }
  changed_.notify_all();
}

void background_aggregation::on_done() {
  {
    const std::lock_guard lock{mutex_};
    finished_ = std::chrono::steady_clock::now();
    planned_ = plan_.calls.size();
  }
  // The run is over: the calls' URLs, headers and bodies are not needed again, and a kept job
  // would hold them for as long as it is kept.
  std::deque<calls::upstream_call>{}.swap(plan_.calls);
  std::deque<call_place>{}.swap(plan_.places);
  changed_.notify_all();
}

std::optional<background_aggregation::arrival> background_aggregation::next(
    std::chrono::steady_clock::time_point until) {
  std::unique_lock lock{mutex_};
  changed_.wait_until(lock, until, [this] { return taken_ < arrivals_.size() || finished_.has_value(); });
  if (taken_ == arrivals_.size()) return std::nullopt;
  return arrivals_[taken_++];
}

std::optional<std::chrono::steady_clock::time_point> background_aggregation::finished_at() const {
  const std::lock_guard lock{mutex_};
  return finished_;
}

std::size_t background_aggregation::held_bytes() const {
  const std::lock_guard lock{mutex_};
  return held_bytes_;
}

std::size_t background_aggregation::arrived() const {
  const std::lock_guard lock{mutex_};
  return arrivals_.size();
}

bool background_aggregation::done() const {
  const std::lock_guard lock{mutex_};
  return finished_.has_value();
}

background_aggregation::progress background_aggregation::snapshot() const {
  const std::lock_guard lock{mutex_};
  progress now{planned_, arrivals_, std::nullopt};
  if (!finished_) return now;
  aggregate &whole = now.result.emplace();
  whole.route = route_;
  whole.mode = execution_mode::async;
  whole.started = started_;
  whole.finished = *finished_;
  whole.response_bytes_limited = budget_ && budget_->spent();
  // Every call has arrived by now (each reports before its fetch ends): a slot per plan index.
  whole.results.resize(planned_);
  for (const auto &a : arrivals_) whole.results[a.index] = a.result;
  return now;
}

}  // namespace agg::fanout
