#pragma once

#include "aggregator/filters/request_filter.hpp"

namespace agg::filters {

/// The timing middleware of the Django original: every answer carries `Server-Timing` (`total`,
/// then what the request added, such as its upstream calls), and every JSON body ends with
/// `"elapsed"`, the seconds since the request's first byte.
class timing_filter final : public request_filter {
 public:
  void on_response(request_context &request, http::response &answer) const override;
};

}  // namespace agg::filters
