#include "aggregator/http/response_head.hpp"

// Boost 1.81's core/detail/string_view.hpp (under Beast) uses std::ostream without including it.
#include <ostream>

#include <boost/beast/http/status.hpp>

#include <cassert>
#include <charconv>

#include "aggregator/http/error_body.hpp"

namespace agg::http {

namespace {

void append_number(std::string &out, std::size_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

}  // namespace

void append_status_line(std::string &out, int status) {
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(status));
  out += ' ';
  const auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
}

void append_header(std::string &out, std::string_view name, std::string_view value) {
  assert(name.find_first_of("\r\n") == std::string_view::npos && value.find_first_of("\r\n") == std::string_view::npos);
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

void append_content_length(std::string &out, std::size_t length) {
  out += "Content-Length: ";
  append_number(out, length);
  out += "\r\n";
}

void append_head(std::string &out, const response &answer, std::optional<std::size_t> length, connection_fate fate) {
  append_status_line(out, answer.status);
  // 204 and 304 have no content, so neither a type nor a length (RFC 9110, 8.6).
  if (answer.status != 204 && answer.status != 304) {
    append_header(out, "Content-Type", answer.content_type);
    if (answer.length_unknown) {
      // neither: a HEAD answer that does not know the length of the body a GET would get
    } else if (length) {
      append_content_length(out, *length);
    } else {
      append_header(out, "Transfer-Encoding", "chunked");
    }
  }
  for (const auto &h : answer.headers) append_header(out, h.name, h.value);
  if (fate == connection_fate::close)
    append_header(out, "Connection", "close");
  else if (fate == connection_fate::keep_alive_http10)
    append_header(out, "Connection", "keep-alive");
  out += "\r\n";
}

void append_chunk(std::string &out, std::string_view bytes) {
  if (bytes.empty()) return;
  char size[20];
  const auto end = std::to_chars(size, size + sizeof size, bytes.size(), 16).ptr;
  out.reserve(out.size() + static_cast<std::size_t>(end - size) + bytes.size() + 4);
  out.append(size, static_cast<std::size_t>(end - size)).append("\r\n").append(bytes).append("\r\n");
}

response response::error(int status, std::string_view code, std::string_view message) {
  return response{status, error_json(code, message)};
}

}  // namespace agg::http
