#pragma once

#include "aggregator/filters/request_filter.hpp"

namespace agg::filters {

/// What a listener serves: the endpoint a request's (decoded) path and method name. A path nobody
/// serves, or a method its endpoint does not take, also names an endpoint: the one that answers
/// 404 or 405, after the filters that decide who may learn that (access control) have run.
class endpoint_table {
 public:
  virtual ~endpoint_table() = default;
  [[nodiscard]] virtual endpoint_match resolve(const request_context &request) const = 0;
};

/// Reads the request's target (Boost.URL, after characters clients send raw are percent-encoded)
/// into its path (as sent: an encoded character never turns into another endpoint's path) and its
/// query (decoded), answering 400 `bad_target` when it is no path and query, and finds the endpoint
/// that serves it (`table`): the filters after it decide by that match. Exact paths only, never a
/// pattern: no path can make routing recurse.
class routing_filter final : public request_filter {
 public:
  explicit routing_filter(const endpoint_table &table) noexcept : table_(table) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;

 private:
  const endpoint_table &table_;
};

}  // namespace agg::filters
