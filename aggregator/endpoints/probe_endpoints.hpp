#pragma once

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/admission.hpp"

namespace agg::endpoints {

/// `GET /health`: 200 while the process lives. Both planes serve it, for load balancers.
class health_endpoint final : public filters::endpoint {
 public:
  void serve(filters::exchange x) const override;
};

/// `GET /ready`: 200 while the event loops run and the service is not stopping, else 503. Both planes.
class ready_endpoint final : public filters::endpoint {
 public:
  ready_endpoint(const client::upstream_client &loops, const runtime::admission &aggregations) noexcept
      : loops_(loops), aggregations_(aggregations) {}
  void serve(filters::exchange x) const override;

 private:
  const client::upstream_client &loops_;
  const runtime::admission &aggregations_;
};

}  // namespace agg::endpoints
