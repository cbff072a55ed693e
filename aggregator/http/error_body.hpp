#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace agg::http {

/// The error document every 4xx/5xx carries: {"error": {"code": ..., "message": ...}}.
std::string error_json(std::string_view code, std::string_view message);

/// `object_text` (a serialized JSON object) with `"elapsed"` (seconds since `started`) added as its
/// last member: the timing middleware of the Django original, on every JSON body.
std::string with_elapsed(std::string object_text, std::chrono::steady_clock::time_point started);

}  // namespace agg::http
