#pragma once

#include "aggregator/filters/request_filter.hpp"

namespace agg::filters {

/// The loop guard: a request whose answer would make upstream calls (a route, a new job) and that
/// already passed through this instance, or through `max_hops` aggregators, is answered 508 Loop
/// Detected at once; otherwise its calls will carry Via and the hop count plus one.
class loop_guard_filter final : public request_filter {
 public:
  explicit loop_guard_filter(unsigned max_hops) noexcept : max_hops_(max_hops) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;

 private:
  unsigned max_hops_;
};

}  // namespace agg::filters
