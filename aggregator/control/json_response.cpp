#include "aggregator/control/json_response.hpp"

#include <httplib.h>

#include "aggregator/http/error_body.hpp"

namespace agg::control {

void send_json(httplib::Response &response, int status, std::string object_text,
               std::chrono::steady_clock::time_point started) {
  response.status = status;
  response.set_header("Content-Type", "application/json");
  response.body = http::with_elapsed(std::move(object_text), started);  // 0.11.4's set_content only copies
}

void set_reply(httplib::Response &response, int status, std::string object_text) {
  response.status = status;
  response.body = std::move(object_text);
}

std::string error_json_for_status(int status) {
  switch (status) {
    case 400: return http::error_json("bad_request", "malformed HTTP request");
    case 404: return http::error_json("not_found", "no such endpoint");
    case 405: return http::error_json("method_not_allowed", "method not allowed");
    case 413: return http::error_json("payload_too_large", "request body too large");
    case 414: return http::error_json("uri_too_long", "request URI too long");
    case 416: return http::error_json("range_not_satisfiable", "requested range not satisfiable");
    case 431: return http::error_json("headers_too_large", "request headers too large");
    default:
      return status >= 500 ? http::error_json("internal", "internal error")
                           : http::error_json("bad_request", "request rejected with HTTP " + std::to_string(status));
  }
}

}  // namespace agg::control
