#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agg::http {

/// Appends `HTTP/1.1 <status> <reason>\r\n` to `out`, with the reason phrase Beast knows for it.
void append_status_line(std::string &out, int status);

/// Appends one `name: value\r\n` line; neither may hold CR or LF (callers pass checked values).
void append_header(std::string &out, std::string_view name, std::string_view value);

/// Appends `Content-Length: <n>\r\n`.
void append_content_length(std::string &out, std::size_t length);

}  // namespace agg::http
