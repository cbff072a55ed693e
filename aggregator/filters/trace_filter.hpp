#pragma once

#include "aggregator/filters/request_filter.hpp"

namespace agg::filters {

/// W3C trace context: a valid `traceparent` (and `tracestate`) is continued, a malformed one dropped;
/// a request without one starts a trace when `start_traces` is set. Its upstream calls get child
/// spans (the plan reads the trace); its answer carries `traceresponse`.
class trace_filter final : public request_filter {
 public:
  explicit trace_filter(bool start_traces) noexcept : start_traces_(start_traces) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;
  void on_response(request_context &request, http::response &answer) const override;

 private:
  bool start_traces_;
};

}  // namespace agg::filters
