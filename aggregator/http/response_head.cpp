#include "aggregator/http/response_head.hpp"

// Boost 1.81's core/detail/string_view.hpp (under Beast) uses std::ostream without including it.
#include <ostream>

#include <boost/beast/http/status.hpp>

#include <cassert>
#include <charconv>

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

}  // namespace agg::http
