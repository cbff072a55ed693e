#pragma once

#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"

namespace agg::filters {

/// Sees every answer complete, early ones and refusals included, in one place: one access-log line
/// and the request metrics (by route and status, and the latency histogram).
class access_log_filter final : public request_filter {
 public:
  access_log_filter(runtime::metrics &stats, const runtime::service_log &log) noexcept : stats_(stats), log_(log) {}
  void on_complete(const request_context &request, int status, std::size_t bytes) const override;

 private:
  runtime::metrics &stats_;
  const runtime::service_log &log_;
};

}  // namespace agg::filters
