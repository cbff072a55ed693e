#pragma once

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/admission.hpp"
#include "aggregator/store/redis_store.hpp"

namespace agg::endpoints {

/// `GET /health`: 200 while the process lives. Both planes serve it, for load balancers.
class health_endpoint final : public filters::endpoint {
 public:
  void serve(filters::exchange x) const override;
};

/// `GET /ready`: 200 while the event loops run and the service is not stopping, else 503. Both planes.
/// With a shared store it says whether Redis answers (`"redis":"up"|"down"`), and is 503 without it
/// when store.ready_without_redis is false.
class ready_endpoint final : public filters::endpoint {
 public:
  /// `store`: the shared store, when there is one (null: none).
  ready_endpoint(const client::upstream_client &loops, const runtime::admission &aggregations,
                 const store::redis_store *store = nullptr) noexcept
      : loops_(loops), aggregations_(aggregations), store_(store) {}
  void serve(filters::exchange x) const override;

 private:
  const client::upstream_client &loops_;
  const runtime::admission &aggregations_;
  const store::redis_store *store_;
};

}  // namespace agg::endpoints
