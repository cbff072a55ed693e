#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "aggregator/http/response.hpp"

namespace agg::http {

/// Appends `HTTP/1.1 <status> <reason>\r\n` to `out`, with the reason phrase Beast knows for it.
void append_status_line(std::string &out, int status);

/// Appends one `name: value\r\n` line; neither may hold CR or LF (callers pass checked values).
void append_header(std::string &out, std::string_view name, std::string_view value);

/// Appends `Content-Length: <n>\r\n`.
void append_content_length(std::string &out, std::size_t length);

/// What becomes of the connection after an answer, as its head says it.
enum class connection_fate {
  keep_alive,         ///< HTTP/1.1's default: nothing to say
  keep_alive_http10,  ///< an HTTP/1.0 client that asked to keep it: `Connection: keep-alive`
  close,              ///< `Connection: close`
};

/// Appends an HTTP/1.1 answer's head: status line, Content-Type, the body's length (chunked when
/// `length` is nullopt: a streamed answer), the answer's headers, the connection's fate and the
/// blank line. The one place both planes frame an answer.
void append_head(std::string &out, const response &answer, std::optional<std::size_t> length, connection_fate fate);

/// Appends one chunk of a streamed body (`<size in hex>\r\n<bytes>\r\n`); nothing for empty bytes,
/// which would end the body.
void append_chunk(std::string &out, std::string_view bytes);

/// The chunk that ends a streamed body.
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace agg::http
