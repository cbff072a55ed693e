#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "aggregator/control/httplib_fwd.hpp"

namespace agg::control {

/// Sets a JSON object body and its status, adding `"elapsed"` (seconds since `started`) as the
/// object's last member: the timing middleware of the Django original. `object_text` must be a
/// serialized JSON object.
void send_json(httplib::Response &response, int status, std::string object_text,
               std::chrono::steady_clock::time_point started);

/// Sets a response's status and JSON object body, which the front then finishes with send_json.
void set_reply(httplib::Response &response, int status, std::string object_text);

/// The error document for a status cpp-httplib set by itself (malformed request, body too large).
std::string error_json_for_status(int status);

}  // namespace agg::control
