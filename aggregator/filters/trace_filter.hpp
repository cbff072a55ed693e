#pragma once

#include "aggregator/filters/request_filter.hpp"

namespace agg::filters {

/// W3C trace context: a valid `traceparent` (and `tracestate`) is continued, a malformed one dropped;
/// a request without one starts a trace when `start_traces` is set. Its upstream calls get child
/// spans (the plan reads the trace); its answer carries `traceresponse`. Sampling is parent-based:
/// a continued trace keeps its caller's sampled flag, one started here is sampled at `sample_ratio`
/// (by its trace id, as OpenTelemetry's TraceIdRatioBased), and the flag goes on to the upstreams.
class trace_filter final : public request_filter {
 public:
  explicit trace_filter(bool start_traces, double sample_ratio = 1.0) noexcept
      : start_traces_(start_traces), sample_ratio_(sample_ratio) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;
  void on_response(request_context &request, http::response &answer) const override;

 private:
  [[nodiscard]] http::trace_context started() const;

  bool start_traces_;
  double sample_ratio_;
};

}  // namespace agg::filters
