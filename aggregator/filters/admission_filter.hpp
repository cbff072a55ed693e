#pragma once

#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/admission.hpp"
#include "aggregator/runtime/unsent_bytes.hpp"

namespace agg::filters {

/// Admission of aggregations: past `server.max_aggregations` in flight, or once the service is
/// shutting down, a request that would run one gets 503 with Retry-After at once (queueing would
/// slow every client down instead of some). An admitted one holds its place (in its context) until
/// its answer, and a shutdown's grace period can cancel it. And while answers that clients do not
/// read hold more than `server.max_unsent_bytes`, every request but a probe gets 503 the same way
/// (Envoy's overload manager): memory for unread answers stays bounded.
class admission_filter final : public request_filter {
 public:
  admission_filter(runtime::admission &aggregations, const runtime::unsent_bytes &unsent) noexcept
      : aggregations_(aggregations), unsent_(unsent) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;

 private:
  runtime::admission &aggregations_;
  const runtime::unsent_bytes &unsent_;
};

}  // namespace agg::filters
