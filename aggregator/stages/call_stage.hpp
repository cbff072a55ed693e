#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <stop_token>
#include <string_view>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/stages/call_site.hpp"

namespace agg::stages {

/// One planned call, as every stage sees it.
struct call_request {
  std::size_t index = 0;                        ///< its place in the plan
  const calls::upstream_call *call = nullptr;   ///< owned by the plan, which outlives the run
  const config::call_policy *policy = nullptr;  ///< what its route (or entry) asks of it; never null
  std::string_view route;                       ///< the route's name (budgets and caches are per route)
  std::stop_token stop;                         ///< the aggregation's
  call_site site;
};

/// What a response cache did for a call.
enum class cache_state { none, hit, miss, stale };
std::string_view to_string(cache_state state) noexcept;

/// How a call came out: the upstream's reply, and what the stages did on the way.
struct call_outcome {
  calls::upstream_reply reply;
  unsigned attempts = 1;           ///< calls sent for it, retries and hedges included (0: none, e.g. a cache hit)
  std::optional<unsigned> hedged;  ///< when a hedge was sent: which attempt's reply this is (0: the first)
  cache_state cache = cache_state::none;
  bool coalesced = false;  ///< shared another aggregation's transfer
  std::chrono::duration<double, std::milli>
      queued{};  ///< waited for a free slot at its origin (and in its route's window)
};

/// The one call type (KrakenD Lura's `proxy.Proxy`): behaviours are decorators around a base that
/// performs the call, composed per route (stages/pipeline). A stage never throws for an upstream's
/// failure: it is a reply. A stage whose behaviour a call does not ask for hands the call to the
/// next one without a coroutine frame of its own. Runs on the request's call site: a stage awaited
/// on a loop resumes on the loop thread.
class call_stage {
 public:
  virtual ~call_stage() = default;
  [[nodiscard]] virtual coro::task<call_outcome> run(call_request request) = 0;
};

/// True when `reply` did not come back as a 2xx response. The body is not looked at (a 2xx that is
/// not JSON is the route's business, not the origin's).
inline bool failed(const calls::upstream_reply &reply) noexcept { return reply.kind != calls::outcome_kind::ok; }

/// An outcome that sent nothing: `kind` with `detail`, started and finished now.
call_outcome refused_outcome(calls::outcome_kind kind, std::string_view detail);

/// What a stage that threw (a curl setup failure, out of memory) leaves in its call's slot: a
/// transport failure saying what happened.
call_outcome outcome_of(std::exception_ptr error);

}  // namespace agg::stages
