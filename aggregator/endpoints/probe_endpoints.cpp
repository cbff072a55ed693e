#include "aggregator/endpoints/probe_endpoints.hpp"

namespace agg::endpoints {

void health_endpoint::serve(filters::exchange x) const { x.respond(http::response::json(200, R"({"status":"ok"})")); }

void ready_endpoint::serve(filters::exchange x) const {
  const bool ready = loops_.running() && !aggregations_.shutting_down();
  x.respond(http::response::json(ready ? 200 : 503, ready ? R"({"status":"ready"})" : R"({"status":"not ready"})"));
}

}  // namespace agg::endpoints
