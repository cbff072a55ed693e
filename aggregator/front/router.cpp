#include "aggregator/front/router.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <string_view>

#include "aggregator/config/url_template.hpp"
#include "aggregator/front/connection.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/front/endpoints.hpp"
#include "aggregator/front/loop_front.hpp"
#include "aggregator/front/route_index.hpp"
#include "aggregator/front/ui_assets.hpp"
#include "aggregator/http/loop_guard.hpp"
#include "aggregator/http/request_id.hpp"

namespace agg::front {

namespace {

/// One of the data plane's own endpoints.
struct fixed_endpoint {
  std::string_view path;
  std::string_view methods;  ///< as the Allow header lists them
  bool open;                 ///< served without the client token: probes must work for load balancers
  void (*serve)(exchange);
};

void serve_health(exchange x) { x.client->respond(std::move(x.state), response::json(200, R"({"status":"ok"})")); }

void serve_ready(exchange x) {
  const runtime::engine &engine = x.front.plane().engine();
  const bool ready = engine.client.running() && !engine.aggregations.shutting_down();
  x.client->respond(std::move(x.state),
                    response::json(ready ? 200 : 503, ready ? R"({"status":"ready"})" : R"({"status":"not ready"})"));
}

void serve_index(exchange x) {
  boost::json::array endpoints, routes;
  for (const auto &shared : x.front.plane().engine().routes.current()->routes()) {
    const config::route_config &route = *shared;
    routes.push_back(describe_route(route));
    const char *method = route.takes_body ? "POST" : "GET";
    for (const auto &[path, mode] : {std::pair{route.path, "async"}, std::pair{route.sync_path(), "sync"},
                                     std::pair{route.stream_path(), "stream"}})
      endpoints.push_back(
          boost::json::object{{"path", path}, {"route", route.name}, {"mode", mode}, {"method", method}});
  }
  for (const char *path : {"/api/jobs", "/health", "/ready", "/ui"})
    endpoints.push_back(boost::json::object{{"path", path}});
  x.client->respond(std::move(x.state),
                    response::json(200, boost::json::serialize(boost::json::object{{"endpoints", std::move(endpoints)},
                                                                                   {"routes", std::move(routes)}})));
}

/// A file of the `/ui` page: static, and served without the client token (the page asks for it
/// and sends it with the requests it makes).
void serve_ui(exchange x) {
  const ui_asset *asset = ui_asset_at(x.state.path);
  response answer{.status = 200, .body = std::string{asset->text}, .content_type = asset->content_type};
  answer.with_header("Content-Security-Policy", std::string{ui_content_security_policy})
      .with_header("X-Content-Type-Options", "nosniff")
      .with_header("Cache-Control", "no-cache");
  x.client->respond(std::move(x.state), std::move(answer));
}

constexpr fixed_endpoint ui_endpoint{"/ui", "GET, HEAD", true, serve_ui};

constexpr fixed_endpoint fixed_endpoints[] = {
    {"/", "GET, HEAD", false, serve_index},
    {"/health", "GET, HEAD", true, serve_health},
    {"/ready", "GET, HEAD", true, serve_ready},
    {"/api/jobs", "POST", false, serve_job_create},
};

constexpr std::string_view jobs_prefix = "/api/jobs/";

const fixed_endpoint *fixed_endpoint_at(std::string_view path) {
  for (const auto &e : fixed_endpoints)
    if (e.path == path) return &e;
  return ui_asset_at(path) != nullptr ? &ui_endpoint : nullptr;
}

/// True when `method` is one of the comma-separated `methods`.
bool allows(std::string_view methods, std::string_view method) {
  while (!methods.empty()) {
    const std::size_t comma = methods.find(',');
    if (methods.substr(0, comma) == method) return true;
    methods = comma == std::string_view::npos ? std::string_view{} : methods.substr(comma + 2);
  }
  return false;
}

/// Where a path that is not served here is, when someone looks for it on the public port.
std::string not_found_message(std::string_view path) {
  std::string message = "no endpoint at " + std::string{path} + "; GET / lists them";
  if (path == "/metrics" || path == "/admin" || path.starts_with("/admin/"))
    message += " (the admin API and /metrics are served by the control plane, server.admin_listen)";
  return message;
}

/// `target` with every byte that may not stand in a URI percent-encoded (spaces aside, which the
/// reader never lets through): clients send `[`, `|`, `{` or UTF-8 raw in queries, and browsers
/// encode them; after this Boost.URL reads both alike.
std::string encoded_target(std::string_view target) {
  return config::percent_encode_except(target, "-._~!$&'()*+,;=:@/?%");
}

}  // namespace

void route_request(loop_front &front, std::shared_ptr<connection> client, request_state state) {
  const runtime::engine &engine = front.plane().engine();
  const auto given_id = state.request.header("X-Request-Id");
  state.request_id =
      given_id && http::acceptable_request_id(*given_id) ? std::string{*given_id} : http::new_request_id();
  state.trace = http::continue_trace(state.request.header("traceparent"), state.request.header("tracestate"));
  if (!state.trace && engine.config.server.start_traces) state.trace = http::start_trace();
  exchange x{front, std::move(client), std::move(state)};
  request_state &s = x.state;
  const std::string target_text = encoded_target(s.request.target);
  const auto target = boost::urls::parse_origin_form(target_text);
  if (!target)
    return x.client->respond(std::move(s),
                             response::error(400, "bad_target", "the request target is not a valid path and query"));
  s.path = target->path();
  for (const auto &param : target->params()) s.query.emplace(param.key, param.value);

  const fixed_endpoint *fixed = fixed_endpoint_at(s.path);
  const auto routes = engine.routes.current();  // this request's snapshot, whatever changes meanwhile
  const auto route = fixed == nullptr ? routes->endpoint_at(s.path) : std::nullopt;
  const bool job = fixed == nullptr && !route && s.path.starts_with(jobs_prefix) && s.path.size() > jobs_prefix.size();

  if (fixed == nullptr || !fixed->open) {
    if (auto refusal = engine.client_auth.check(s.request.header("Authorization"))) {
      response answer = response::json(refusal->status, std::move(refusal->body));
      if (refusal->challenge) answer.with_header("WWW-Authenticate", *refusal->challenge);
      return x.client->respond(std::move(s), std::move(answer));
    }
  }
  if (fixed == nullptr && !route && !job)
    return x.client->respond(std::move(s), response::error(404, "not_found", not_found_message(s.path)));
  // What makes upstream calls (a route, a new job) is refused at once when the request loops.
  if (route || (fixed != nullptr && fixed->serve == serve_job_create)) {
    const auto via = s.request.header("Via");
    const auto hops = s.request.header(http::hops_header);
    if (auto why = http::loop_refusal(via, hops, engine.config.server.max_hops))
      return x.client->respond(std::move(s), response::error(508, "loop_detected", *why));
    s.hop_lines = http::hop_lines(via, hops);
  }
  // A route that sends or reads the client's body takes it by POST.
  const std::string_view methods = fixed != nullptr ? fixed->methods
                                   : route          ? (route->route->takes_body ? "POST" : "GET, HEAD")
                                                    : "GET, HEAD, DELETE";
  if (!allows(methods, s.request.method))
    return x.client->respond(std::move(s),
                             response::error(405, "method_not_allowed",
                                             s.request.method + " is not allowed here; use " + std::string{methods})
                                 .with_header("Allow", std::string{methods}));
  if (fixed != nullptr) return fixed->serve(std::move(x));
  if (job) return serve_job(std::move(x));
  serve_route(std::move(x), *route);
}

}  // namespace agg::front
