#pragma once

#include <cstddef>
#include <string>

#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/http/trace_context.hpp"
#include "aggregator/telemetry/span.hpp"

namespace agg::telemetry {

/// Writes a client span per call of `result` to `out` (see span_writer): children of the request's
/// span in `trace`, each with the span id its upstream was sent (trace_context::call_span_id),
/// named and described as OpenTelemetry's HTTP client conventions say (url.full without query or
/// credentials, server.address, http.response.status_code, error.type), with the call's stages as
/// attributes (attempts, cache, coalesced, queued) and events (retry, hedge won, breaker open).
/// Returns how many spans it wrote.
std::size_t write_call_spans(std::string &out, const http::trace_context &trace, const fanout::aggregate &result,
                             const wall_clock &clock = {});

}  // namespace agg::telemetry
