#pragma once

#include <string>

#include "aggregator/fanout/aggregate.hpp"

namespace agg::fanout {

/// An aggregate as the HTTP response that carries it.
struct rendered_aggregate {
  int status = 200;  ///< 200 when anything succeeded, 502 when every upstream failed
  bool complete = true;
  std::string body;  ///< JSON, Django-compatible: message, responses, debug_message, and more
};

/// Renders the response document: `responses` holds a slot per planned call in plan order (null
/// where the call failed) and `upstreams` says, slot by slot, how each call went.
rendered_aggregate render(const aggregate &result);

}  // namespace agg::fanout
