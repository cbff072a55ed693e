#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/stages/call_site.hpp"
#include "aggregator/stages/call_stage.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::fanout {

/// An aggregation running on an upstream loop with no thread waiting for it (asyncio.create_task):
/// its results can be taken as they arrive, its progress read, and it can be cancelled. Background
/// jobs are built on it. Each result is settled (parsed, shaped) on the loop as it arrives, which is
/// also where a composed plan needs it, and where the plan is read and grown. Thread-safe; keep it in a shared_ptr (the
/// running aggregation holds one until it finishes).
class background_aggregation : public std::enable_shared_from_this<background_aggregation> {
 public:
  /// Starts the plan now on `site` (from its loop's thread the calls start at once, with no hop),
  /// through the route's stages, which share `shared`.
  static std::shared_ptr<background_aggregation> start(stages::call_site site, fan_out_plan plan,
                                                       std::shared_ptr<stages::shared_state> shared);

  /// One finished call, in completion order.
  struct arrival {
    std::size_t index;
    upstream_result result;
  };
  /// Waits for the next arrival not taken yet, up to `until`. Nullopt when every arrival has been
  /// taken and the aggregation is done, or when the time ran out (tell them apart with done()).
  std::optional<arrival> next(std::chrono::steady_clock::time_point until);

  /// Cancels what is still running (those calls end as `cancelled`). Any thread, any time.
  void cancel() { stop_.request_stop(); }
  /// The stop source that cancels it: for watchers that cancel on an event of their own.
  [[nodiscard]] std::stop_source stop_source() const { return stop_; }

  [[nodiscard]] bool done() const;
  /// How many calls have finished so far: cheaper than a snapshot for "did it move?".
  [[nodiscard]] std::size_t arrived() const;
  /// What the results that arrived so far hold in memory, estimated (their slots, texts and
  /// parsed bodies): what keeping it costs.
  [[nodiscard]] std::size_t held_bytes() const;
  /// Gives the bytes its bodies took back to the pool its plan's budget drew on (the job store's):
  /// when the store lets it go.
  void release_bytes() noexcept {
    if (budget_) budget_->release_pool();
  }
  /// When the last call finished, once done(): cheaper than a snapshot for a question of time.
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> finished_at() const;

  /// Where it stands at one moment, read under one lock, so that a reader never sees it done with
  /// arrivals missing: the calls planned so far (a composed plan plans more as entries finish), the
  /// results that arrived (completion order), and the whole aggregate once done.
  struct progress {
    std::size_t planned_calls = 0;
    std::vector<arrival> arrived;
    std::optional<aggregate> result;
  };
  /// Copied on the calling thread.
  [[nodiscard]] progress snapshot() const;
  [[nodiscard]] const config::route_ptr &route() const noexcept { return route_; }
  /// Its plan's deadline: every call still running then is cut off, so it is done by then.
  [[nodiscard]] std::chrono::steady_clock::time_point finishes_by() const noexcept { return deadline_; }

  explicit background_aggregation(fan_out_plan plan);  // use start()

 private:
  void on_outcome(std::size_t index, const stages::call_outcome &outcome);  // loop thread
  void on_done();                                                           // loop thread
  friend struct background_runner;

  fan_out_plan plan_;  // the loop thread's only, while it runs
  const config::route_ptr route_;
  const std::chrono::steady_clock::time_point deadline_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::stop_source stop_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<arrival> arrivals_;                                  // guarded by mutex_, in completion order
  std::size_t planned_;                                            // guarded by mutex_
  std::size_t taken_ = 0;                                          // guarded by mutex_: arrivals handed out by next()
  std::size_t held_bytes_ = 0;                                     // guarded by mutex_: held_bytes()
  const std::shared_ptr<calls::byte_budget> budget_;               // the plan's (atomic): read once it is done
  std::optional<std::chrono::steady_clock::time_point> finished_;  // guarded by mutex_: set when done
};

}  // namespace agg::fanout
