#pragma once

#include "aggregator/fanout/aggregations.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"

namespace agg::endpoints {

/// What a route's endpoints are given: the aggregation's door, the metrics their calls are counted
/// in, and the log for failures of ours. Must outlive every request.
struct route_serving {
  const fanout::aggregations &door;
  runtime::metrics &stats;
  const runtime::service_log &log;
};

/// A route's async endpoint: every call at once on the request's loop; answers with the document
/// when the last call has ended (status by the route's policy).
class gather_endpoint final : public filters::endpoint {
 public:
  explicit gather_endpoint(route_serving serving) noexcept : serving_(serving) {}
  void serve(filters::exchange x) const override;

 private:
  route_serving serving_;
};

/// A route's sync baseline: the same calls one after another on the blocking pool; the loop parks
/// the connection meanwhile. 503 when every sync thread is busy and the queue is full.
class sync_endpoint final : public filters::endpoint {
 public:
  explicit sync_endpoint(route_serving serving) noexcept : serving_(serving) {}
  void serve(filters::exchange x) const override;

 private:
  route_serving serving_;
};

/// A route's stream: a chunk per call the moment it finishes (NDJSON, or Server-Sent Events when
/// the client accepts text/event-stream), then a summary line.
class stream_endpoint final : public filters::endpoint {
 public:
  explicit stream_endpoint(route_serving serving) noexcept : serving_(serving) {}
  void serve(filters::exchange x) const override;

 private:
  route_serving serving_;
};

/// HEAD on a route's stream: the head a GET would get, and nothing runs.
class stream_head_endpoint final : public filters::endpoint {
 public:
  void serve(filters::exchange x) const override;
};

}  // namespace agg::endpoints
