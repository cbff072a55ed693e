#pragma once

#include <string>

#include "aggregator/fanout/aggregate.hpp"

namespace agg::fanout {

/// An aggregate as the HTTP response that carries it.
struct rendered_aggregate {
  int status = 200;  ///< see aggregate_status()
  bool complete = true;
  std::string body;  ///< JSON, Django-compatible: message, responses, debug_message, and more
};

/// The response status: 200 when every call succeeded; the route's partial status (200 unless
/// configured) when some failed; 502 when all failed or a required one did, 504 instead when the
/// aggregation's deadline is why (no result at all before it, or a required call cut off by it).
int aggregate_status(const aggregate &result);

/// One line of the streaming endpoint: an upstream's entry (as in `upstreams`) plus `elapsed_ms`
/// since the aggregation started and its `body`. No trailing newline.
std::string render_arrival(std::size_t index, const upstream_result &result);

/// The streaming endpoint's last line: `summary`, the status the whole aggregate would have,
/// `complete`, counts and `elapsed_ms`. No trailing newline.
std::string render_summary(const aggregate &result);

/// Renders the response document: `responses` holds a slot per planned call in plan order (null
/// where the call failed) and `upstreams` says, slot by slot, how each call went.
rendered_aggregate render(const aggregate &result);

}  // namespace agg::fanout
