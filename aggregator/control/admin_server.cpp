#include "aggregator/control/admin_server.hpp"

#include <httplib.h>

#include <exception>
#include <stdexcept>
#include <string>

#include "aggregator/control/json_response.hpp"
#include "aggregator/control/listener.hpp"
#include "aggregator/http/error_body.hpp"
#include "aggregator/http/request_id.hpp"
#include "aggregator/http/response_head.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::control {

namespace {

using clock = std::chrono::steady_clock;
using level = config::log_config::level;

std::string total_timing(clock::time_point started) {
  std::string timing;
  text::json_writer{timing}
      .raw("total;dur=")
      .number(std::chrono::duration<double, std::milli>(clock::now() - started).count(), 3);
  return timing;
}

}  // namespace

admin_server::admin_server(runtime::engine &engine, std::function<runtime::metrics::gauges()> gauges)
    : engine_(engine), gauges_(std::move(gauges)), admin_api_(engine.routes) {
  // A request the reader refused: answered here, counted and logged like any other, then closed.
  auto refused = [this](const http::refusal &why, const http::request &partial, clock::time_point started) {
    const std::string id = http::new_request_id();
    const std::string body = http::with_elapsed(http::error_json(why.code, why.message), started);
    std::string out;
    http::append_status_line(out, why.status);
    http::append_header(out, "Content-Type", "application/json");
    http::append_header(out, "Connection", "close");
    http::append_header(out, "X-Request-Id", id);
    http::append_header(out, "Server-Timing", total_timing(started));
    http::append_content_length(out, body.size());
    out += "\r\n";
    out += body;
    const auto took = clock::now() - started;
    engine_.stats.record_request("-", why.status, took);
    engine_.log.access({id, partial.method.empty() ? "-" : partial.method,
                        partial.target.empty() ? "-" : partial.target, "-", why.status, body.size(), took, 0, 0});
    return out;
  };
  listener_ = std::make_unique<listener>(http::request_limits{}, std::move(refused));
  listener &server = *listener_;
  server.set_tcp_nodelay(true);  // without it every keep-alive response waits ~40 ms (Nagle)
  server.set_keep_alive_max_count(10'000);
  server.set_keep_alive_timeout(30);
  // One worker serves a connection for its whole keep-alive life: the pool bounds open connections.
  // cpp-httplib owns and deletes the queue it gets from this factory.
  const std::size_t threads = engine_.config.server.threads;
  server.new_task_queue = [threads] { return std::make_unique<httplib::ThreadPool>(threads).release(); };

  // Every request is answered here, before cpp-httplib's routing: we route by exact path (which also
  // tells 404 from 405), and its routing would match each path against std::regex patterns, whose
  // matcher recurses once per character of the path.
  server.set_pre_routing_handler([this](const httplib::Request &request, httplib::Response &response) {
    const auto started = clock::now();
    try {
      dispatch(request, response);
    } catch (const std::exception &e) {
      engine_.log.event(level::error, request.method + " " + request.path + " failed: " + e.what());
      set_reply(response, 500, http::error_json("internal", "internal error"));
    }
    finish(request, response, started);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors cpp-httplib produces itself get a JSON body too; a body already set is kept.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse{[](const httplib::Request &, httplib::Response &response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_json(response, response.status, error_json_for_status(response.status), clock::now());
        return httplib::Server::HandlerResponse::Handled;
      }});
}

admin_server::~admin_server() = default;

std::uint16_t admin_server::bind() {
  const auto &where = engine_.config.server;
  int port = where.admin_port;
  if (port == 0) {
    port = listener_->bind_to_any_port(where.admin_host);
  } else if (!listener_->bind_to_port(where.admin_host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + where.admin_host + ":" + std::to_string(where.admin_port) +
                             " for the control plane (address in use, or not an address of this machine)");
  return static_cast<std::uint16_t>(port);
}

bool admin_server::run() { return listener_->listen_after_bind(); }

void admin_server::stop() { listener_->halt(); }

void admin_server::dispatch(const httplib::Request &request, httplib::Response &response) const {
  const bool read = request.method == "GET" || request.method == "HEAD";
  if (route_admin_api::serves(request.path)) return serve_admin(request, response);
  if (request.path != "/metrics" && request.path != "/health" && request.path != "/ready")
    return set_reply(response, 404,
                     http::error_json("not_found", "no endpoint at " + request.path +
                                                       " on the control plane: it serves /admin/routes, /metrics, "
                                                       "/ready and /health"));
  if (!read) {
    response.set_header("Allow", "GET, HEAD");
    return set_reply(response, 405,
                     http::error_json("method_not_allowed", request.method + " is not allowed here; use GET"));
  }
  if (request.path == "/metrics") {
    response.status = 200;
    response.set_header("Content-Type", "text/plain; version=0.0.4");
    response.body = engine_.stats.render(gauges_(), *engine_.stages);
    return;
  }
  if (request.path == "/health") return set_reply(response, 200, R"({"status":"ok"})");
  const bool ready = engine_.client.running() && !engine_.aggregations.shutting_down();
  set_reply(response, ready ? 200 : 503, ready ? R"({"status":"ready"})" : R"({"status":"not ready"})");
}

void admin_server::serve_admin(const httplib::Request &request, httplib::Response &response) const {
  if (engine_.admin_auth.open())
    return set_reply(response, 404,
                     http::error_json("admin_disabled",
                                      "the admin API is off: give the service an admin token "
                                      "(auth.admin_token_file or AGGREGATOR_ADMIN_TOKEN)"));
  const auto authorization = request.has_header("Authorization")
                                 ? std::optional<std::string>{request.get_header_value("Authorization")}
                                 : std::nullopt;
  if (auto refusal = engine_.admin_auth.check(authorization)) {
    if (refusal->challenge) response.set_header("WWW-Authenticate", *refusal->challenge);
    return set_reply(response, refusal->status, std::move(refusal->body));
  }
  admin_api_.serve(request, response);
  const auto &routes = engine_.routes;
  if (request.method != "GET" && request.method != "HEAD" && response.status < 300)
    engine_.log.event(level::info,
                      "admin: " + request.method + " " + request.path + " -> " + std::to_string(response.status) +
                          (routes.file().empty() ? " (in memory only)" : " (saved to " + routes.file() + ")"));
}

void admin_server::finish(const httplib::Request &request, httplib::Response &response,
                          clock::time_point started) const {
  const std::string given = request.get_header_value("X-Request-Id");
  const std::string id = http::acceptable_request_id(given) ? given : http::new_request_id();
  // A JSON object body gains `elapsed`; 204 has no content, /metrics is Prometheus text.
  if (response.status != 204 && !response.has_header("Content-Type"))
    send_json(response, response.status, std::move(response.body), started);
  response.set_header("X-Request-Id", id);
  response.set_header("Server-Timing", total_timing(started));
  const auto took = clock::now() - started;
  engine_.stats.record_request("-", response.status, took);
  engine_.log.access({id, request.method, request.path, "-", response.status, response.body.size(), took, 0, 0});
}

}  // namespace agg::control
