#pragma once

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// `client.max_connections_per_origin`: on each loop at most shared_state::slots_per_loop() calls to
/// one origin are in flight; the others wait their turn, first come first served, and their outcome
/// says how long (`queued`). A call that waits past its deadline ends as a timeout, one cancelled
/// meanwhile as cancelled; neither is sent. The blocking site makes one call per pool thread and
/// is not capped here.
class origin_limit_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;

 private:
  coro::task<call_outcome> limited(call_request request);
};

}  // namespace agg::stages
