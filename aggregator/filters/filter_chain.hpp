#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "aggregator/filters/exchange.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/http/request.hpp"

namespace agg::filters {

/// A listener's request filters in order (Envoy's filter manager): a request goes in through each
/// until one answers it, else to the endpoint its match names; every answer goes out through the
/// same filters in reverse. Immutable once built; shared by the listener's connections and threads.
class filter_chain {
 public:
  explicit filter_chain(std::vector<std::unique_ptr<request_filter>> filters) : filters_(std::move(filters)) {}

  /// Serves one complete request.
  void serve(exchange x) const { resume(std::move(x), 0); }
  /// Goes on with `x` from its filter `from` on (exchange::proceed: after the one that waited).
  void resume(exchange x, std::size_t from) const;
  /// Answers a request the HTTP reader refused (or that did not arrive in time) with `why`: only
  /// the way out runs (ids, timing, the log), for a request no filter has seen.
  void refuse(exchange x, const http::refusal &why) const;

  /// The way out of an answer (exchange::respond, begin_stream): each filter's on_response, last first.
  void encode(request_context &request, http::response &answer) const;
  /// Every filter hears that the answer is complete.
  void complete(const request_context &request, int status, std::size_t bytes) const;

 private:
  std::vector<std::unique_ptr<request_filter>> filters_;
};

}  // namespace agg::filters
