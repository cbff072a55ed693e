#include "aggregator/server/json_response.hpp"

#include <httplib.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cassert>
#include <cstdio>

namespace agg::server {

void send_json(httplib::Response &response, int status, std::string object_text,
               std::chrono::steady_clock::time_point started) {
  assert(object_text.size() >= 2 && object_text.front() == '{' && object_text.back() == '}');
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char elapsed[64];
  std::snprintf(elapsed, sizeof elapsed, "%s\"elapsed\":%.6f}", object_text.size() > 2 ? "," : "", seconds);
  object_text.pop_back();
  object_text += elapsed;
  response.status = status;
  response.set_header("Content-Type", "application/json");
  response.body = std::move(object_text);  // 0.11.4's set_content only copies
}

void set_reply(httplib::Response &response, int status, std::string object_text) {
  response.status = status;
  response.body = std::move(object_text);
}

std::string error_json(std::string_view code, std::string_view message) {
  return boost::json::serialize(boost::json::object{{"error", {{"code", code}, {"message", message}}}});
}

std::string error_json_for_status(int status) {
  switch (status) {
    case 400: return error_json("bad_request", "malformed HTTP request");
    case 404: return error_json("not_found", "no such endpoint");
    case 405: return error_json("method_not_allowed", "method not allowed");
    case 413: return error_json("payload_too_large", "request body too large");
    case 414: return error_json("uri_too_long", "request URI too long");
    case 416: return error_json("range_not_satisfiable", "requested range not satisfiable");
    case 431: return error_json("headers_too_large", "request headers too large");
    default:
      return status >= 500 ? error_json("internal", "internal error")
                           : error_json("bad_request", "request rejected with HTTP " + std::to_string(status));
  }
}

}  // namespace agg::server
