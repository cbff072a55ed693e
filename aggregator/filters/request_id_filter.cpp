#include "aggregator/filters/request_id_filter.hpp"

#include "aggregator/http/request_id.hpp"

namespace agg::filters {

std::optional<http::response> request_id_filter::on_request(exchange &x) const {
  request_context &r = x.request();
  const auto given = r.request.header("X-Request-Id");
  r.request_id = given && http::acceptable_request_id(*given) ? std::string{*given} : http::new_request_id();
  return std::nullopt;
}

void request_id_filter::on_response(request_context &request, http::response &answer) const {
  if (request.request_id.empty()) request.request_id = http::new_request_id();  // no request was read
  answer.with_header("X-Request-Id", request.request_id);
}

}  // namespace agg::filters
