#include "aggregator/endpoints/probe_endpoints.hpp"

namespace agg::endpoints {

void health_endpoint::serve(filters::exchange x) const { x.respond(http::response::json(200, R"({"status":"ok"})")); }

void ready_endpoint::serve(filters::exchange x) const {
  bool ready = loops_.running() && !aggregations_.shutting_down();
  if (store_ == nullptr)
    return x.respond(
        http::response::json(ready ? 200 : 503, ready ? R"({"status":"ready"})" : R"({"status":"not ready"})"));
  // With a shared store the answer says whether Redis is reachable; it decides readiness only when
  // store.ready_without_redis is false.
  const bool redis = store_->up();
  if (!redis && !store_->config().ready_without_redis) ready = false;
  std::string body = ready ? R"({"status":"ready")" : R"({"status":"not ready")";
  body += redis ? R"(,"redis":"up"})" : R"(,"redis":"down"})";
  x.respond(http::response::json(ready ? 200 : 503, std::move(body)));
}

}  // namespace agg::endpoints
