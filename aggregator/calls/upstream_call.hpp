#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator/calls/byte_budget.hpp"
#include "aggregator/calls/outcome_kind.hpp"

namespace agg::calls {

/// One upstream request, fully resolved: what the async and the sync path both execute.
struct upstream_call {
  std::string url;
  std::chrono::milliseconds timeout{10'000};  ///< whole transfer, connect included
  std::size_t max_body_bytes = 1 << 20;       ///< larger bodies abort the transfer (`too_large`)
  /// The aggregation's deadline: the transfer never runs past it (nor starts after it).
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::vector<std::string> headers;  ///< extra request header lines, "Name: value"
  /// url[0, origin_length) is `scheme://host[:port]`: calls to one origin share its parsed form.
  /// 0 when not known (the URL is then parsed whole).
  std::size_t origin_length = 0;
  bool wants_cache_control = false;  ///< keep the response's Cache-Control in the reply
  std::string_view method = "GET";   ///< GET, POST, PUT, PATCH or DELETE (a literal: it is never freed)
  std::optional<std::string> body;   ///< sent with the request (its Content-Type is among `headers`)
  /// Response headers to keep in the reply, by name (the route's list, which outlives the call).
  const std::vector<std::string> *return_headers = nullptr;
  /// What the aggregation's calls may receive together (max_response_bytes); none: no such bound.
  std::shared_ptr<byte_budget> budget;
  /// `timeout` is shorter than its route's because the request asked for less (`timeout_ms`): a
  /// timeout then says something about the client, not the origin.
  bool timeout_by_client = false;

  /// Its origin, `scheme://host[:port]` as the URL spells it: the first origin_length characters,
  /// or (a call made by hand) the URL's own scheme and authority. Calls to one origin share a
  /// breaker, a latency record, a cap on calls in flight and a pre-parsed URL.
  [[nodiscard]] std::string_view origin() const noexcept;
};

/// Why a transfer was cancelled, as its reply says it.
inline constexpr std::string_view cancelled_by_request = "the aggregation was cancelled";
inline constexpr std::string_view cancelled_by_shutdown = "the upstream loop stopped";
inline constexpr std::string_view cancelled_by_shutdown_grace =
    "the service shut down before the call ended (server.shutdown_grace_ms ran out)";

/// What one upstream call produced, with its timing on the steady clock.
struct upstream_reply {
  /// ok or http_status when a response arrived (`status` says which), else why none did.
  outcome_kind kind = outcome_kind::ok;
  long status = 0;  ///< HTTP status; 0 when no response arrived
  std::string body;
  std::string error_detail;      ///< why, when `kind` is not ok (curl's explanation for a transport failure)
  bool deadline_passed = false;  ///< a timeout that the aggregation's deadline caused
  /// The upstream's Retry-After (seconds or an HTTP date), for a 429 or a 503 that sent one.
  std::optional<std::chrono::steady_clock::time_point> retry_after;
  std::string cache_control;  ///< the response's Cache-Control, when the call asked for it
  std::vector<std::pair<std::string, std::string>> headers;  ///< the `return_headers` the response had
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point finished;
  long connects = 0;           ///< connections the transfer opened (CURLINFO_NUM_CONNECTS): 0 when it reused one
  std::size_t wire_bytes = 0;  ///< the body's bytes as received, before decoding (CURLINFO_SIZE_DOWNLOAD_T)
};

/// Records that a response with HTTP `status` arrived: the call is ok for a 2xx, http_status (with
/// the status as its detail) otherwise.
void set_response_status(upstream_reply &reply, long status);

/// The reply of a call that ended without an HTTP response (`kind` says why): started at
/// `started`, over now.
upstream_reply failed_reply(outcome_kind kind, std::string_view detail,
                            std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());

}  // namespace agg::calls
