#pragma once

#include <string>
#include <string_view>

namespace agg::http {

/// A client's X-Request-Id is kept when it is 1-128 characters of [A-Za-z0-9._:-]; otherwise the
/// service makes one: nothing else from a client reaches the log or another service that way.
bool acceptable_request_id(std::string_view id) noexcept;

/// A new request id: 16 hex digits from a per-thread generator.
std::string new_request_id();

}  // namespace agg::http
