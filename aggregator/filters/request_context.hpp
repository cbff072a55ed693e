#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/auth/credentials.hpp"
#include "aggregator/config/route_table.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/http/body_encoder.hpp"
#include "aggregator/http/request.hpp"
#include "aggregator/http/response.hpp"
#include "aggregator/http/trace_context.hpp"
#include "aggregator/runtime/admission.hpp"

namespace agg::filters {

class endpoint;

/// What a request's path names on its listener (the routing filter's finding): the endpoint that
/// answers it, and what the other filters decide by.
struct endpoint_match {
  const endpoint *answer = nullptr;  ///< who answers; set for every request that passed routing
  std::string_view methods;          ///< what the endpoint takes, as `Allow` lists them (a literal)
  bool open = false;                 ///< served without credentials (probes, the page's files)
  bool calls_upstreams = false;      ///< its answer makes upstream calls (a route, a new job)
  bool aggregates = false;           ///< it runs an aggregation while the client waits (a route's endpoints)
  config::route_ptr route;           ///< the route it serves, if any
  config::endpoint_kind kind = config::endpoint_kind::aggregate;
};

/// One request, from its first byte to the last byte of its answer: what it asked, what the filters
/// found and decided, and what its answer, the metrics and the access log say of it. Handed along
/// explicitly (filters, endpoint, the way back); nothing about a request lives anywhere else.
struct request_context {
  http::request request;
  std::chrono::steady_clock::time_point started;  ///< its first byte
  std::string request_id;
  std::optional<http::trace_context> trace;  ///< its W3C trace: the caller's, or one it started
  std::vector<std::string> hop_lines;        ///< the Via its upstream calls carry
  std::string path;                          ///< the target's path, percent-decoded
  fanout::query_params query;                ///< the target's query parameters, percent-decoded
  endpoint_match match;
  std::optional<runtime::admission::ticket> admitted;  ///< its place among the aggregations in flight
  std::string route = "-";                             ///< the route's name, "-" for other endpoints
  std::size_t upstream_calls = 0;
  std::size_t upstream_failures = 0;
  std::string timing_entries;              ///< Server-Timing entries after `total`, e.g. per upstream
  std::optional<auth::identity> identity;  ///< who sent it, when it carried a credential that verified
  /// The subject (RFC 2253) of the client certificate its TLS connection's handshake verified; empty
  /// without one (cleartext, or no certificate asked for or sent).
  std::string client_subject;
  bool secure = false;  ///< it came over TLS (`https`)
  /// Charges the upstream calls a request's plan makes to its route's rate limit (set by the rate
  /// limit filter when the route limits calls): an answer (429) when they do not fit. A task: with a
  /// shared store the decision is a round trip to Redis.
  std::function<coro::task<std::optional<http::response>>(request_context &self, std::size_t calls)> charge_calls;
  std::string rate_limit_policy;  ///< the RateLimit-Policy header's items, when a limit applies
  std::string rate_limit;         ///< the RateLimit header's items
  /// Encodes a streamed answer's pieces, when the compression filter chose a coding for it.
  std::unique_ptr<http::body_encoder> stream_encoder;

  [[nodiscard]] bool head_only() const noexcept { return request.method == "HEAD"; }
  /// The path the log names: the decoded one, or the target as sent when it could not be read.
  [[nodiscard]] const std::string &logged_path() const noexcept { return path.empty() ? request.target : path; }
};

}  // namespace agg::filters
