#pragma once

#include "aggregator/filters/request_filter.hpp"
#include "aggregator/telemetry/span.hpp"

namespace agg::telemetry {
class trace_exporter;
}

namespace agg::filters {

/// OpenTelemetry's server span: when a request in a sampled trace is complete, its span (the one
/// `traceresponse` names, a child of the caller's) goes to the exporter, named and described as the
/// HTTP server conventions say (`GET /api/aggregated`, http.route, http.response.status_code, ...)
/// with the aggregation's route, mode and call counts. Its calls' spans come from the endpoints.
class telemetry_filter final : public request_filter {
 public:
  explicit telemetry_filter(telemetry::trace_exporter &exporter) noexcept : exporter_(exporter) {}
  void on_complete(const request_context &request, int status, std::size_t bytes) const override;

 private:
  telemetry::trace_exporter &exporter_;
};

/// Writes the server span of `request` to `out`: answered with `status` and `bytes` of body, ending now.
void write_server_span(std::string &out, const request_context &request, int status, std::size_t bytes);

}  // namespace agg::filters
