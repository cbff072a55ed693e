#pragma once

#include "aggregator/filters/request_filter.hpp"

namespace agg::filters {

/// Gives every request its id: the client's X-Request-Id when it is acceptable, else a new one; every
/// answer carries it (a refused request gets one on the way out).
class request_id_filter final : public request_filter {
 public:
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;
  void on_response(request_context &request, http::response &answer) const override;
};

}  // namespace agg::filters
