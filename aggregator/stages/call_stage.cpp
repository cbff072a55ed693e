#include "aggregator/stages/call_stage.hpp"

#include <utility>

#include "aggregator/coro/outcome.hpp"

namespace agg::stages {

std::string_view to_string(cache_state state) noexcept {
  switch (state) {
    case cache_state::none: return "none";
    case cache_state::hit: return "hit";
    case cache_state::miss: return "miss";
    case cache_state::stale: return "stale";
  }
  return "none";
}

call_outcome refused_outcome(calls::outcome_kind kind, std::string_view detail) {
  call_outcome outcome;
  outcome.reply = calls::failed_reply(kind, detail);
  outcome.attempts = 0;
  return outcome;
}

call_outcome outcome_of(std::exception_ptr error) {
  call_outcome failed;
  failed.reply = calls::failed_reply(calls::outcome_kind::transport, coro::what_of(std::move(error)));
  return failed;
}

}  // namespace agg::stages
