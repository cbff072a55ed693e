#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator/http/request.hpp"

namespace agg::http {

/// An answer as an endpoint or a filter gives it, before framing: the connection adds the status
/// line, the length (or chunked framing) and its own fate; filters add what every answer carries
/// (X-Request-Id, Server-Timing, `elapsed` in a JSON body) on the way out.
struct response {
  int status = 200;
  std::string body;  ///< a JSON object unless `content_type` says otherwise
  /// Bytes someone else keeps, shared by every answer that sends them (a finished job's document):
  /// written as they are, never copied per answer (nor given `elapsed`). When set, `body` is empty.
  std::shared_ptr<const std::string> shared_body;
  std::vector<header_field> headers;
  std::string_view content_type = "application/json";  ///< a literal
  /// The connection closes after it: what follows a request nobody could read cannot be trusted.
  bool closes_connection = false;
  /// A HEAD answer whose body only a GET would make (an aggregation's): no Content-Length then,
  /// since only the calls could tell it, and no chunked framing either.
  bool length_unknown = false;
  /// The head of a streamed answer: its body follows in pieces (exchange::stream_chunk).
  bool streamed = false;

  /// A JSON reply: `object_text` is a serialized JSON object.
  static response json(int status, std::string object_text) { return response{status, std::move(object_text)}; }
  /// The error document every 4xx/5xx carries: {"error": {"code", "message"}}.
  static response error(int status, std::string_view code, std::string_view message);
  response &with_header(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
    return *this;
  }
  /// True for a JSON object body of its own (what gains `elapsed`).
  [[nodiscard]] bool json_body() const noexcept { return content_type == "application/json" && !body.empty(); }
  /// The bytes of the body, its own or shared.
  [[nodiscard]] std::string_view payload() const noexcept { return shared_body ? *shared_body : body; }
};

}  // namespace agg::http
