#include "aggregator/endpoints/data_endpoints.hpp"

#include "aggregator/endpoints/ui_assets.hpp"

namespace agg::endpoints {

namespace {

/// Where a path that is not served here is, when someone looks for it on the public port.
std::string not_found_message(std::string_view path) {
  std::string message = "no endpoint at " + std::string{path} + "; GET / lists them";
  if (path == "/metrics" || path == "/admin" || path.starts_with("/admin/"))
    message += " (the admin API and /metrics are served by the control plane, server.admin_listen)";
  return message;
}

/// The methods a route's endpoints take: POST for one that sends or reads the client's body.
std::string_view route_methods(const config::route_config &route) noexcept {
  return route.takes_body ? "POST" : "GET, HEAD";
}

}  // namespace

data_endpoints::data_endpoints(route_serving routes, job_serving jobs, ready_endpoint ready)
    : routes_(jobs.routes),
      ready_(ready),
      index_(jobs.routes),
      job_create_(jobs),
      job_(jobs.store, jobs.shared),
      gather_(routes, route_endpoint::way::gather),
      one_by_one_(routes, route_endpoint::way::one_by_one),
      stream_(routes, route_endpoint::way::stream),
      head_(routes),
      not_found_(not_found_message) {}

filters::endpoint_match data_endpoints::resolve(const filters::request_context &request) const {
  const std::string &path = request.path;
  const std::string &method = request.request.method;
  filters::endpoint_match match;
  if (path == "/") {
    match = {.answer = &index_, .methods = "GET, HEAD"};
  } else if (path == "/health") {
    match = {.answer = &health_, .methods = "GET, HEAD", .open = true};
  } else if (path == "/ready") {
    match = {.answer = &ready_, .methods = "GET, HEAD", .open = true};
  } else if (ui_asset_at(path) != nullptr) {
    match = {.answer = &ui_, .methods = "GET, HEAD", .open = true};
  } else if (path == "/api/jobs") {
    match = {.answer = &job_create_, .methods = "POST", .calls_upstreams = true};
  } else if (const auto target = routes_.current()->endpoint_at(path)) {
    match = {.answer = nullptr,
             .methods = route_methods(*target->route),
             .calls_upstreams = true,
             .aggregates = true,
             .route = target->route,
             .kind = target->kind};
    switch (target->kind) {
      case config::endpoint_kind::aggregate: match.answer = &gather_; break;
      case config::endpoint_kind::sync_baseline: match.answer = &one_by_one_; break;
      case config::endpoint_kind::stream: match.answer = &stream_; break;
    }
    if (method == "HEAD") {  // the head a GET would get: nothing runs
      match.answer = &head_;
      match.aggregates = false;
    }
  } else if (path.starts_with(job_endpoint::prefix) && path.size() > job_endpoint::prefix.size()) {
    match = {.answer = &job_, .methods = "GET, HEAD, DELETE"};
  } else {
    return {.answer = &not_found_};
  }
  if (!allows(match.methods, method)) {
    match.answer = &method_not_allowed_;
    match.aggregates = false;
  }
  return match;
}

}  // namespace agg::endpoints
