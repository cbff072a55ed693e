#pragma once

#include "aggregator/coro/detached.hpp"
#include "aggregator/fanout/aggregations.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/admission.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"

namespace agg::telemetry {
class trace_exporter;
}

namespace agg::endpoints {

/// What a route's endpoints are given: the aggregation's door, the metrics their calls are counted
/// in, and the log for failures of ours. Must outlive every request.
struct route_serving {
  const fanout::aggregations &door;
  runtime::metrics &stats;
  const runtime::service_log &log;
  /// The aggregations admitted, to tell a call cancelled by the shutdown from one its client left.
  const runtime::admission *admitted = nullptr;
  /// Where a sampled request's call spans go; null without telemetry.
  telemetry::trace_exporter *traces = nullptr;
};

/// One of a route's endpoints: it plans the request through the aggregation's door, runs it its
/// way, and answers with what the other two would report.
class route_endpoint final : public filters::endpoint {
 public:
  enum class way {
    gather,      ///< async: every call at once on the request's loop; the document when the last has ended
    one_by_one,  ///< the sync baseline: one call after another on the blocking pool (503 when it is full)
    stream,      ///< a chunk per call the moment it finishes (NDJSON, or SSE when asked), then a summary
  };
  route_endpoint(route_serving serving, way runs) noexcept : serving_(serving), way_(runs) {}
  void serve(filters::exchange x) const override;

 private:
  /// Runs `plan` the way `how` says.
  static void run(const route_serving &s, way how, filters::exchange x, fanout::fan_out_plan plan);
  /// Charges the plan's calls to the route's call limit (a round trip to Redis when it is shared),
  /// then runs it, or answers the refusal.
  static coro::detached charge_then_run(route_serving s, way how, filters::exchange x, fanout::fan_out_plan plan);

  route_serving serving_;
  way way_;
};

/// HEAD on any of a route's endpoints: the request is planned (a bad parameter is the 400 a GET
/// would get) and nothing runs: 200 with the type a GET would answer with and no length, which
/// only the calls could tell (RFC 9110, 9.3.2 lets a HEAD answer leave it out).
class route_head_endpoint final : public filters::endpoint {
 public:
  explicit route_head_endpoint(route_serving serving) noexcept : serving_(serving) {}
  void serve(filters::exchange x) const override;

 private:
  route_serving serving_;
};

/// What a request marks its upstream calls with and gives their templates: its trace, its hop
/// marker and the identity it verified with.
fanout::call_marks call_marks_of(const filters::request_context &request);

/// A stream's form: SSE when the client's Accept asks for it, NDJSON otherwise.
bool wants_sse(const filters::request_context &r);
std::string_view stream_type(bool sse);
/// A stream's head: its type, and for SSE `Cache-Control: no-cache`. (nginx as configs/nginx.conf
/// has it passes each frame on as it comes: tested, no `X-Accel-Buffering` needed.)
http::response stream_head(bool sse);
/// One JSON value of a stream: a line (NDJSON), or an SSE event named `event`.
std::string frame(const std::string &json, bool sse, const char *event);

}  // namespace agg::endpoints
