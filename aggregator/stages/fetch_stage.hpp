#pragma once

#include <string>

#include "aggregator/stages/call_stage.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::stages {

/// The base every pipeline ends in: the call itself, made on the site's loop (upstream_loop::fetch)
/// or blocking on the calling thread (fetch_blocking, the sync baseline), and counted in its origin's
/// record (when given `shared`: per-origin metrics, the latencies hedges read). Used by one thread
/// at a time, as a pipeline is.
class fetch_stage final : public call_stage {
 public:
  explicit fetch_stage(shared_state *shared = nullptr) noexcept : shared_(shared) {}
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  /// On the loop's thread (the data plane's case): the call as a fetch_op in this stage's frame.
  coro::task<call_outcome> run_on(client::upstream_loop &loop, call_request request);
  /// Anywhere else: the sync baseline's blocking call, or a hop to the loop (upstream_loop::fetch).
  coro::task<call_outcome> run_elsewhere(call_request request);
  void record(const calls::upstream_call &call, const calls::upstream_reply &reply);
  /// The outcome of a call that sent `reply`, recorded.
  call_outcome settle(const calls::upstream_call &call, calls::upstream_reply reply);

  shared_state *shared_;
  std::string last_origin_;  // a plan's calls mostly share an origin: its record is looked up once
  origin_record *last_record_ = nullptr;
};

}  // namespace agg::stages
