#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/calls/outcome_kind.hpp"
#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/stages/call_stage.hpp"

namespace agg::fanout {

/// How the plan's calls were executed: all at once, or one after another (the sync baseline).
enum class execution_mode { async, sync };
std::string_view to_string(execution_mode mode) noexcept;

/// One slot of an aggregate: the parsed body when ok, otherwise why not.
struct upstream_result {
  std::string url;
  calls::outcome_kind kind = calls::outcome_kind::ok;
  long status = 0;
  boost::json::value body;                                   ///< null unless ok (and null for a 204)
  std::string detail;                                        ///< the failure, for a person; empty when ok
  bool required = false;                                     ///< the aggregate fails when this slot fails
  bool deadline_passed = false;                              ///< a timeout caused by the aggregation's deadline
  std::chrono::duration<double, std::milli> start_offset{};  ///< from the aggregation's start
  std::chrono::duration<double, std::milli> duration{};
  std::size_t bytes = 0;       ///< of the body as it came (before parsing and shaping; 0 when nothing was sent)
  long connects = 0;           ///< connections the call opened: 0 when it reused one (or sent nothing)
  std::size_t wire_bytes = 0;  ///< the body as it travelled, when compressed (else equal to `bytes`)
  /// Calls sent, retries and hedges included; shown when the call's behaviours could make it other
  /// than 1 (retries, hedges) or did (0: a cache hit, an open breaker).
  std::optional<unsigned> attempts;
  std::optional<unsigned> hedged;  ///< which attempt won, when a hedge was sent
  stages::cache_state cache = stages::cache_state::none;
  bool coalesced = false;                              ///< shared another aggregation's transfer
  std::chrono::duration<double, std::milli> queued{};  ///< waited for a slot (the route's window, its origin's cap)
  std::size_t entry = 0;                               ///< the route entry it comes from
  std::string name;                                    ///< that entry's name, when it has one
  std::string_view method = "GET";                     ///< a literal
  std::size_t item = 0;                                ///< its place among the entry's calls
  boost::json::value item_value;                       ///< the for-each value (or batch) it was made for
  std::vector<std::pair<std::string, std::string>> headers;  ///< the entry's `return_headers` the upstream sent
  std::vector<std::string> notes;                            ///< what shaping found missing
};

/// The result of one aggregation: a slot per planned call, in plan order, whatever failed.
struct aggregate {
  config::route_ptr route;
  execution_mode mode = execution_mode::async;
  std::vector<upstream_result> results;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point finished;
  /// Its bodies reached the route's max_response_bytes: the calls from then on ended `too_large`.
  bool response_bytes_limited = false;

  [[nodiscard]] std::size_t failures() const noexcept;
  [[nodiscard]] bool complete() const noexcept { return failures() == 0; }
};

/// Turns the outcomes (one per planned call, same order) into an aggregate: 2xx with a JSON body (or
/// 204) is ok; any other status, a transport error, or a body that is not JSON (unless the route
/// accepts those: it is kept as a string) is not.
aggregate settle(const fan_out_plan &plan, execution_mode mode, std::vector<stages::call_outcome> outcomes,
                 std::chrono::steady_clock::time_point started);

/// What settle_one() makes of call `index`'s body (parsed, shaped; null unless the call is ok), with
/// its kind, status, detail and notes in `facts` (nothing else of it): what a composed plan's
/// entries read from the entries they use.
boost::json::value settle_body(const fan_out_plan &plan, std::size_t index, const stages::call_outcome &outcome,
                               upstream_result &facts, const boost::json::storage_ptr &storage = {});

/// One slot of settle(): the outcome of plan call `index`, as the response reports it; its body's
/// tree is allocated from `storage` (the default resource when none is given).
upstream_result settle_one(const fan_out_plan &plan, std::size_t index, const stages::call_outcome &outcome,
                           std::chrono::steady_clock::time_point started, const boost::json::storage_ptr &storage = {});

/// Settles each outcome the moment it arrives (its body parsed and shaped then, on the thread
/// running the plan, not once the last call has ended), every body in one arena; a listener for
/// run_plan (see outcome_listener). Must outlive the run; then take() gives the aggregate.
class arrival_settler {
 public:
  arrival_settler(const fan_out_plan &plan, execution_mode mode, std::chrono::steady_clock::time_point started);

  /// Settles plan call `index` (a composed plan may have grown past the slots so far).
  const upstream_result &operator()(std::size_t index, const stages::call_outcome &outcome);
  /// The aggregate, finished at `finished`: a slot per outcome (each has arrived by the end of the run).
  aggregate take(std::chrono::steady_clock::time_point finished = std::chrono::steady_clock::now());

 private:
  /// Slots up to `count`, their bodies already in the arena: a settled body moves in, not copied.
  void grow(std::size_t count);

  const fan_out_plan &plan_;
  aggregate result_;
  boost::json::storage_ptr bodies_;
};

}  // namespace agg::fanout
