#include "aggregator/filters/token_access_filter.hpp"

namespace agg::filters {

std::optional<http::response> token_access_filter::on_request(exchange &x) const {
  const request_context &r = x.request();
  if (r.match.open) return std::nullopt;
  if (tokens_.open()) return answer_when_off_;
  auto refusal = tokens_.check(r.request.header("Authorization"));
  if (!refusal) return std::nullopt;
  http::response answer = http::response::json(refusal->status, std::move(refusal->body));
  if (refusal->challenge) answer.with_header("WWW-Authenticate", *refusal->challenge);
  return answer;
}

}  // namespace agg::filters
