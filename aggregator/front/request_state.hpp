#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/http/request.hpp"
#include "aggregator/http/trace_context.hpp"

namespace agg::front {

/// One request on the data plane, from its first byte to the last byte of its answer: what it asked
/// and what its answer, the metrics and the access log say of it. Handed along explicitly from the
/// connection to the handler and back; nothing about a request lives anywhere else.
struct request_state {
  http::request request;
  std::chrono::steady_clock::time_point started;  ///< its first byte
  std::string request_id;
  std::optional<http::trace_context> trace;  ///< its W3C trace: the caller's, or one it started
  std::vector<std::string> hop_lines;        ///< the Via and hop count its upstream calls carry
  std::string path;                          ///< the target's path, percent-decoded
  fanout::query_params query;                ///< the target's query parameters, percent-decoded
  std::string route = "-";                   ///< the route's name, "-" for other endpoints
  std::size_t upstream_calls = 0;
  std::size_t upstream_failures = 0;
  std::string timing_entries;  ///< Server-Timing entries after `total`, e.g. per upstream

  [[nodiscard]] bool head_only() const noexcept { return request.method == "HEAD"; }
};

/// A whole response a handler gives the connection; the connection adds what every response
/// carries (X-Request-Id, Server-Timing, Content-Length, Connection, `elapsed` in a JSON body).
struct response {
  int status = 200;
  std::string body;  ///< a JSON object unless `content_type` says otherwise
  std::vector<http::header_field> headers;
  std::string_view content_type = "application/json";

  /// A JSON reply: `object_text` is a serialized JSON object.
  static response json(int status, std::string object_text) { return response{status, std::move(object_text)}; }
  /// The error document every 4xx/5xx carries.
  static response error(int status, std::string_view code, std::string_view message);
  response &with_header(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
    return *this;
  }
};

}  // namespace agg::front
