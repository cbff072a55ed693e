#pragma once

#include <string_view>

#include "aggregator/http/loop_guard.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::http {

/// True for the headers the service itself puts on every upstream call (trace context, hop
/// marker): never forwarded as a request brought them, and no part of what a call asks (cache and
/// coalescing keys leave them out).
constexpr bool is_call_mark(std::string_view header_name) noexcept {
  for (const std::string_view mark :
       {std::string_view{"traceparent"}, std::string_view{"tracestate"}, std::string_view{"via"}, hops_header})
    if (text::equal_ignoring_case(header_name, mark)) return true;
  return false;
}

}  // namespace agg::http
