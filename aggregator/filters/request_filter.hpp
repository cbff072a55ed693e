#pragma once

#include <cstddef>
#include <optional>

#include "aggregator/filters/exchange.hpp"
#include "aggregator/filters/request_context.hpp"
#include "aggregator/http/response.hpp"

namespace agg::filters {

/// One request behaviour (Envoy's HTTP filter): it looks at each request on the way in and may
/// answer it there, looks at every answer on the way out, and hears when an answer is complete. A
/// listener runs an ordered list of them (filter_chain). Filters hold no request's state (that is
/// the request_context's) and are shared by every connection of the listener: const, thread-safe.
class request_filter {
 public:
  virtual ~request_filter() = default;

  /// On the way in, in list order: nullopt passes the request on; an answer ends it here (the
  /// filters after this one and the endpoint never see it). Answer by returning, not through `x`.
  [[nodiscard]] virtual std::optional<http::response> on_request(exchange &x) const;
  /// On the way out, in reverse list order: every answer passes here, early ones, refusals and the
  /// heads of streams included, whether or not on_request ran for it.
  virtual void on_response(request_context &request, http::response &answer) const;
  /// The answer is complete (handed to the connection): its status and the body bytes it had.
  virtual void on_complete(const request_context &request, int status, std::size_t bytes) const;
};

/// What answers a request that passed every filter: the routing filter's match names it. It answers
/// through `x` at once, or later from a coroutine on `x.loop()` that owns `x`. Const, thread-safe.
class endpoint {
 public:
  virtual ~endpoint() = default;
  virtual void serve(exchange x) const = 0;
};

}  // namespace agg::filters
