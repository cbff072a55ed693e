#include "aggregator/filters/admission_filter.hpp"

#include <string>
#include <variant>

namespace agg::filters {

namespace {

http::response busy(std::string message) {
  http::response refused = http::response::error(503, "overloaded", message);
  refused.with_header("Retry-After", "1");
  return refused;
}

}  // namespace

std::optional<http::response> admission_filter::on_request(exchange &x) const {
  if (x.request().match.open) return std::nullopt;  // probes and the page's files answer whatever the load
  if (unsent_.over())
    return busy("answers that clients have not read yet hold " + std::to_string(unsent_.held()) +
                " bytes, more than server.max_unsent_bytes (" + std::to_string(unsent_.limit()) + "); retry shortly");
  if (!x.request().match.aggregates) return std::nullopt;
  auto admitted = aggregations_.admit(x.stop_source());
  if (auto *ticket = std::get_if<runtime::admission::ticket>(&admitted)) {
    x.request().admitted.emplace(std::move(*ticket));
    return std::nullopt;
  }
  const bool stopping = std::get<runtime::admission::refusal>(admitted) == runtime::admission::refusal::shutting_down;
  return busy(stopping ? "the service is shutting down" : "too many aggregations in flight; retry shortly");
}

}  // namespace agg::filters
