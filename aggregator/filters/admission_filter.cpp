#include "aggregator/filters/admission_filter.hpp"

#include <variant>

namespace agg::filters {

std::optional<http::response> admission_filter::on_request(exchange &x) const {
  if (!x.request().match.aggregates) return std::nullopt;
  auto admitted = aggregations_.admit(x.stop_source());
  if (auto *ticket = std::get_if<runtime::admission::ticket>(&admitted)) {
    x.request().admitted.emplace(std::move(*ticket));
    return std::nullopt;
  }
  const bool stopping = std::get<runtime::admission::refusal>(admitted) == runtime::admission::refusal::shutting_down;
  http::response busy = http::response::error(
      503, "overloaded", stopping ? "the service is shutting down" : "too many aggregations in flight; retry shortly");
  busy.with_header("Retry-After", "1");
  return busy;
}

}  // namespace agg::filters
