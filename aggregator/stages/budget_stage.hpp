#pragma once

#include "aggregator/stages/behaviour_stage.hpp"

namespace agg::stages {

/// Counts each call once in its route's retry budget (policy `budget`, which retries and hedges
/// bring): the first calls that the extra ones, spent by the hedge and retry stages inside it, are
/// a share of. Sends nothing itself and needs no frame.
class budget_stage final : public behaviour_stage {
 public:
  using behaviour_stage::behaviour_stage;
  [[nodiscard]] coro::task<call_outcome> run(call_request request) override;
};

}  // namespace agg::stages
