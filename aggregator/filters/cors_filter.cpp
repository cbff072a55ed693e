#include "aggregator/filters/cors_filter.hpp"

#include "aggregator/config/cors_reader.hpp"

namespace agg::filters {

namespace {

/// The value of Access-Control-Allow-Origin for an allowed `origin`: `*` only when any origin may
/// read and no credentials travel.
std::string allowed_origin_value(const config::cors_policy &policy, std::string_view origin) {
  return policy.any_origin && !policy.allow_credentials ? std::string{"*"} : std::string{origin};
}

bool is_preflight(const http::request &request) {
  return request.method == "OPTIONS" && request.header("Access-Control-Request-Method").has_value();
}

}  // namespace

const config::cors_policy *cors_filter::policy_for(const request_context &request) const noexcept {
  if (request.match.route && request.match.route->cors) return &*request.match.route->cors;
  return server_ ? &*server_ : nullptr;
}

std::optional<http::response> cors_filter::on_request(exchange &x) const {
  const request_context &r = x.request();
  if (!is_preflight(r.request) || r.match.methods.empty()) return std::nullopt;  // none, or no endpoint there
  const config::cors_policy *policy = policy_for(r);
  const auto origin = r.request.header("Origin");
  if (policy == nullptr || !origin) return std::nullopt;  // OPTIONS as any other method: 405
  if (!config::origin_allowed(*policy, *origin)) {
    std::string message = "the origin ";
    message += *origin;
    message += " may not call this service from a browser: it is not in ";
    message += r.match.route && r.match.route->cors ? "the route's cors.allow_origins" : "server.cors.allow_origins";
    return http::response::error(403, "cors_origin_not_allowed", message);
  }
  http::response answer{.status = 204};
  answer.with_header("Access-Control-Allow-Origin", allowed_origin_value(*policy, *origin))
      .with_header("Access-Control-Allow-Methods",
                   policy->allow_methods.empty() ? std::string{r.match.methods} : policy->allow_methods)
      .with_header("Access-Control-Max-Age", std::to_string(policy->max_age.count()));
  if (!policy->allow_headers.empty()) answer.with_header("Access-Control-Allow-Headers", policy->allow_headers);
  if (policy->allow_credentials) answer.with_header("Access-Control-Allow-Credentials", "true");
  return answer;
}

void cors_filter::on_response(request_context &request, http::response &answer) const {
  const config::cors_policy *policy = policy_for(request);
  if (policy == nullptr) return;
  const bool preflight = is_preflight(request.request) && answer.status == 204;
  if (!policy->any_origin || policy->allow_credentials)
    answer.with_header("Vary",
                       preflight ? "Origin, Access-Control-Request-Method, Access-Control-Request-Headers" : "Origin");
  if (preflight) return;  // its CORS headers are its own
  const auto origin = request.request.header("Origin");
  if (!origin || !config::origin_allowed(*policy, *origin)) return;
  answer.with_header("Access-Control-Allow-Origin", allowed_origin_value(*policy, *origin));
  if (policy->allow_credentials) answer.with_header("Access-Control-Allow-Credentials", "true");
  if (!policy->expose_headers.empty()) answer.with_header("Access-Control-Expose-Headers", policy->expose_headers);
}

}  // namespace agg::filters
