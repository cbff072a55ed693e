#include "aggregator/control/control_endpoints.hpp"

namespace agg::control {

namespace {

std::string not_found_message(std::string_view path) {
  return "no endpoint at " + std::string{path} +
         " on the control plane: it serves /admin/routes, /metrics, /ready "
         "and /health";
}

}  // namespace

void metrics_endpoint::serve(filters::exchange x) const {
  x.respond(http::response{
      .status = 200, .body = stats_.render(gauges_(), stages_), .content_type = "text/plain; version=0.0.4"});
}

void admin_endpoint::serve(filters::exchange x) const {
  http::response answer = api_.serve(x.request());
  const std::string &method = x.request().request.method;
  if (method != "GET" && method != "HEAD" && answer.status < 300)
    log_.event(config::log_config::level::info, "admin: " + method + " " + x.request().path + " -> " +
                                                    std::to_string(answer.status) +
                                                    (routes_.shared() ? " (stored in Redis: every replica applies it)"
                                                     : routes_.file().empty() ? " (in memory only)"
                                                                              : " (saved to " + routes_.file() + ")"));
  x.respond(std::move(answer));
}

control_endpoints::control_endpoints(metrics_endpoint metrics, admin_endpoint admin, endpoints::ready_endpoint ready)
    : metrics_(std::move(metrics)), admin_(std::move(admin)), ready_(ready), not_found_(not_found_message) {}

filters::endpoint_match control_endpoints::resolve(const filters::request_context &request) const {
  const std::string &path = request.path;
  if (route_admin_api::serves(path)) return {.answer = &admin_, .methods = "GET, HEAD, POST, PUT, PATCH, DELETE"};
  filters::endpoint_match match{.methods = "GET, HEAD", .open = true};
  if (path == "/metrics")
    match.answer = &metrics_;
  else if (path == "/health")
    match.answer = &health_;
  else if (path == "/ready")
    match.answer = &ready_;
  else
    return {.answer = &not_found_, .open = true};
  if (!endpoints::allows(match.methods, request.request.method)) match.answer = &method_not_allowed_;
  return match;
}

}  // namespace agg::control
