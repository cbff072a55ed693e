#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agg::http {

/// A request's place in a W3C trace (Trace Context, level 1): the trace it belongs to, the span
/// that called it (none when the trace starts here), its own span, and the caller's `tracestate`.
/// Every upstream call gets a child of `span_id` (child_traceparent).
struct trace_context {
  std::string trace_id;   ///< 32 lowercase hex digits, not all zero
  std::string parent_id;  ///< the caller's span, 16 hex digits; empty when the trace started here
  std::string span_id;    ///< this request's span, 16 hex digits
  std::string flags = "01";
  std::string tracestate;  ///< as it came, when it was valid; else empty

  /// `traceparent` naming this request's span (what the response's `traceresponse` carries).
  [[nodiscard]] std::string traceparent() const;
  /// `traceparent` for one upstream call: this trace, a new span whose parent is this request's.
  [[nodiscard]] std::string child_traceparent() const;
};

/// The trace the caller's `traceparent` (and `tracestate`) put this request in, with a new span of
/// its own; nullopt when `traceparent` is absent or malformed (it is dropped then, its tracestate
/// too, and never forwarded as it came). A malformed `tracestate` alone is dropped.
std::optional<trace_context> continue_trace(std::optional<std::string_view> traceparent,
                                            std::optional<std::string_view> tracestate);

/// A new trace, sampled, started by this request.
trace_context start_trace();

/// True when `value` is a tracestate header W3C allows: at most 32 comma-separated `key=value`
/// members, 512 characters in all.
bool valid_tracestate(std::string_view value) noexcept;

}  // namespace agg::http
