#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agg::http {

/// One header field as the client sent it.
struct header_field {
  std::string name;
  std::string value;
};

/// One request as it arrived, its framing taken off: what a front routes and a handler reads.
struct request {
  std::string method;
  std::string target;  ///< as sent: percent-encoded, query included
  int version = 11;    ///< 10 for HTTP/1.0, 11 for HTTP/1.1
  bool keep_alive = true;
  std::vector<header_field> headers;  ///< in arrival order
  std::string body;                   ///< the payload, with chunked framing removed

  /// The value of the first header called `name` (case-insensitive); nullopt when there is none.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept;
  /// Every header called `name` as the one list RFC 9110 makes of them: the values joined with ", "
  /// (Cookie's with "; "); nullopt when there is none.
  [[nodiscard]] std::optional<std::string> joined(std::string_view name) const;
  /// How many headers are called `name` (case-insensitive).
  [[nodiscard]] std::size_t count(std::string_view name) const noexcept;
};

/// Why a request is refused before any handler sees it: the status, a stable code and a message for
/// a person. The connection closes after the answer: after a framing error nothing that follows on
/// it can be trusted, so the parser never resynchronises.
struct refusal {
  int status = 400;
  std::string code;
  std::string message;
};

}  // namespace agg::http
