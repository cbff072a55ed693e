#include "aggregator/filters/loop_guard_filter.hpp"

#include "aggregator/http/loop_guard.hpp"

namespace agg::filters {

std::optional<http::response> loop_guard_filter::on_request(exchange &x) const {
  request_context &r = x.request();
  if (!r.match.calls_upstreams) return std::nullopt;
  const auto via = r.request.header("Via");
  const auto hops = r.request.header(http::hops_header);
  if (auto why = http::loop_refusal(via, hops, max_hops_)) return http::response::error(508, "loop_detected", *why);
  r.hop_lines = http::hop_lines(via);
  return std::nullopt;
}

}  // namespace agg::filters
