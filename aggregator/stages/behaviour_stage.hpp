#pragma once

#include "aggregator/stages/call_stage.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::stages {

/// One behaviour (retry, hedge, breaker, ...) around the next stage: every stage but the fetch. It
/// passes calls on to `inner_` and records in what every aggregation's stages share; a call whose
/// policy does not ask for the behaviour goes straight on, without a coroutine frame of its own.
class behaviour_stage : public call_stage {
 public:
  behaviour_stage(call_stage &inner, shared_state &shared) noexcept : inner_(inner), shared_(shared) {}

 protected:
  call_stage &inner_;
  shared_state &shared_;
};

}  // namespace agg::stages
