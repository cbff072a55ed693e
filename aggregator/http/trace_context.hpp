#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agg::http {

/// A request's place in a W3C trace (Trace Context, level 1): the trace it belongs to, the span
/// that called it (none when the trace starts here), its own span, and the caller's `tracestate`.
/// Every upstream call gets a child of `span_id` (call_traceparent).
struct trace_context {
  std::string trace_id;   ///< 32 lowercase hex digits, not all zero
  std::string parent_id;  ///< the caller's span, 16 hex digits; empty when the trace started here
  std::string span_id;    ///< this request's span, 16 hex digits
  std::string flags = "01";
  std::string tracestate;  ///< as it came, when it was valid; else empty

  /// `traceparent` naming this request's span (what the response's `traceresponse` carries).
  [[nodiscard]] std::string traceparent() const;
  /// The span of the call an aggregation makes for `entry`'s `item`: one per call, derived from
  /// this request's span, so that the span exported for the call is the one its upstream was told.
  [[nodiscard]] std::string call_span_id(std::size_t entry, std::size_t item) const;
  /// The same, its 16 hex digits in place.
  [[nodiscard]] std::array<char, 16> call_span_hex(std::size_t entry, std::size_t item) const noexcept;
  /// `traceparent` for that call, after `prefix` (e.g. "traceparent: "), in one allocation: one
  /// per upstream call.
  [[nodiscard]] std::string call_traceparent(std::size_t entry, std::size_t item, std::string_view prefix = {}) const;
  /// The sampled flag (bit 0 of trace-flags): whoever records spans of this trace does.
  [[nodiscard]] bool sampled() const noexcept;
};

/// The trace the caller's `traceparent` (and `tracestate`) put this request in, with a new span of
/// its own; nullopt when `traceparent` is absent or malformed (it is dropped then, its tracestate
/// too, and never forwarded as it came). A malformed `tracestate` alone is dropped.
std::optional<trace_context> continue_trace(std::optional<std::string_view> traceparent,
                                            std::optional<std::string_view> tracestate);

/// A new trace started by this request, `sampled` or not.
trace_context start_trace(bool sampled = true);

/// OpenTelemetry's TraceIdRatioBased: a trace is sampled when its id's last 16 hex digits, as a
/// number, fall below `ratio` of 2^64 (so every service with one ratio decides alike).
bool sampled_at_ratio(std::string_view trace_id, double ratio) noexcept;

/// True when `value` is a tracestate header W3C allows: at most 32 comma-separated `key=value`
/// members, 512 characters in all.
bool valid_tracestate(std::string_view value) noexcept;

}  // namespace agg::http
