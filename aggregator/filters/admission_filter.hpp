#pragma once

#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/admission.hpp"

namespace agg::filters {

/// Admission of aggregations: past `server.max_aggregations` in flight, or once the service is
/// shutting down, a request that would run one gets 503 with Retry-After at once (queueing would
/// slow every client down instead of some). An admitted one holds its place (in its context) until
/// its answer, and a shutdown's grace period can cancel it.
class admission_filter final : public request_filter {
 public:
  explicit admission_filter(runtime::admission &aggregations) noexcept : aggregations_(aggregations) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;

 private:
  runtime::admission &aggregations_;
};

}  // namespace agg::filters
