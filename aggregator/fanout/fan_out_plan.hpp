#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/calls/outcome_kind.hpp"
#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/http/loop_guard.hpp"
#include "aggregator/http/trace_context.hpp"

namespace agg::fanout {

/// A request's query parameters as the front received them (a name may repeat).
using query_params = std::multimap<std::string, std::string, std::less<>>;

/// Looks a request header up by name (case-insensitive); nullopt when the request has none.
using header_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// Why a request cannot be planned: becomes a 4xx with a JSON body at the front.
struct request_error {
  int status = 400;
  std::string code;     ///< stable machine-readable name, e.g. "invalid_parameter"
  std::string message;  ///< what was wrong, for a person
};

/// Where a planned call comes from: its route entry and its place among that entry's calls.
struct call_place {
  std::size_t entry = 0;
  std::size_t item = 0;      ///< the repetition `{i}`, or the position of its for-each value (or batch)
  boost::json::value value;  ///< the for-each value (a batch's array of them) it was made for; null otherwise
  std::optional<calls::outcome_kind> unsent;  ///< set for a slot the plan did not send, and why (its reply says more)
};

/// What a request gives the templates of its route, beyond other entries' bodies.
struct plan_inputs {
  std::map<std::string, std::string, std::less<>> params;  ///< every declared parameter, defaults filled in
  std::size_t count = 0;                                   ///< `num`
  std::chrono::milliseconds call_timeout{10'000};          ///< the route's, shortened by the request
  bool timeout_by_client = false;                          ///< the request shortened it
  std::vector<std::string> header_lines;                   ///< forwarded request headers, "Name: value"
  std::string body;                                        ///< the client's JSON body (routes that take one)
  boost::json::value body_value;                           ///< the same, parsed
  std::optional<http::trace_context> trace;                ///< every call gets a child span of it
  std::shared_ptr<const boost::json::value> claims;        ///< the caller's verified JWT claims: `{jwt#/sub}`
  std::string api_key_name;                                ///< the caller's API key's name: `{api_key.name}`
};

/// The upstream calls one request to a route turns into, in the order the response lists them:
/// those of the entries that use no other entry's body at once, in config order; a chained entry's
/// calls are appended when it starts (see run_plan). Shares its route: a route changed while the
/// plan runs keeps the version the plan started with. Only the thread running the plan touches it
/// while it runs.
struct fan_out_plan {
  config::route_ptr route;
  std::deque<calls::upstream_call> calls;          ///< a deque: calls in flight keep their address as more are planned
  std::deque<call_place> places;                   ///< places[i]: where calls[i] comes from
  std::chrono::steady_clock::time_point deadline;  ///< when unfinished calls are cut off
  plan_inputs inputs;
  /// The body bytes its calls may receive together: the route's max_response_bytes.
  std::shared_ptr<calls::byte_budget> budget;

  [[nodiscard]] const config::upstream_entry &entry_of(std::size_t index) const {
    return route->upstreams[places[index].entry];
  }
  /// The aggregate fails when call `index` fails.
  [[nodiscard]] bool required(std::size_t index) const { return entry_of(index).required; }
  /// Call `index`'s behaviours (its entry's).
  [[nodiscard]] const config::call_policy *policy(std::size_t index) const { return &entry_of(index).policy; }
};

/// What the service itself marks every call of a request with: a span of the request's trace (a
/// `traceparent` of its own, and the caller's `tracestate`) and the hop marker (`Via`, the hop
/// count). A route cannot forward those headers as they came.
struct call_marks {
  std::optional<http::trace_context> trace;
  std::vector<std::string> header_lines;
  std::shared_ptr<const boost::json::value> claims;  ///< the caller's verified JWT claims, if any
  std::string api_key_name;                          ///< the caller's API key's name, if any
};

/// Validates the query against the route (known names, `num` within bounds, `timeout_ms` that
/// can only shorten the route's limits, lengths) and expands the route's upstream entries that use
/// no other entry into calls; parameter values only ever fill template slots. The deadline starts
/// now. Request headers the route forwards are looked up with `headers` (none when it is empty).
/// `body` is the client's request body, for a route that takes one (it must be JSON then). The
/// caller's identity (`marks`) fills `{jwt#...}` and `{api_key.name}` and the route's
/// claims_to_headers; a header of such a name the client sent is never forwarded.
std::variant<fan_out_plan, request_error> make_plan(config::route_ptr route, const query_params &query,
                                                    const header_lookup &headers = {}, std::string_view body = {},
                                                    call_marks marks = {});

/// The upstream calls a rate limit charges `plan` for: those planned, and at most what each chained
/// entry (planned once what it uses is done) can make.
std::size_t calls_to_charge(const fan_out_plan &plan);

}  // namespace agg::fanout
