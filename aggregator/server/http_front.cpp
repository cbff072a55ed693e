#include "aggregator/server/http_front.hpp"

#include <httplib.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdio>
#include <exception>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <variant>

#include "aggregator/config/character_rules.hpp"
#include "aggregator/fanout/background_aggregation.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/fanout/gather.hpp"
#include "aggregator/fanout/json_writer.hpp"
#include "aggregator/fanout/render.hpp"
#include "aggregator/http/response_head.hpp"
#include "aggregator/server/client_connection.hpp"
#include "aggregator/server/json_response.hpp"
#include "aggregator/server/listener.hpp"
#include "aggregator/server/request_context.hpp"
#include "aggregator/server/stream_response.hpp"

namespace agg::server {

namespace {

using clock = std::chrono::steady_clock;
using level = config::log_config::level;

/// Per-upstream Server-Timing entries stop here: a 1000-call aggregation would make a huge header.
constexpr std::size_t max_timing_entries = 64;

/// A client's request id is kept when it is 1-128 characters of [A-Za-z0-9._:-].
bool acceptable_request_id(std::string_view id) { return id.size() <= 128 && config::made_of(id, "._:-"); }

std::string new_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char id[17];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(random()));
  return id;
}

/// `, fetch;dur=1001.2, u0;dur=1001.1;desc="ok", …`: the aggregation's Server-Timing entries
/// (numbers written as the JSON bodies write them).
void add_timing_entries(std::string &out, const fanout::aggregate &result) {
  fanout::json_writer w{out};
  w.raw(", fetch;dur=").number(std::chrono::duration<double, std::milli>(result.finished - result.started).count(), 3);
  const std::size_t shown = std::min(result.results.size(), max_timing_entries);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto &r = result.results[i];
    w.raw(", u").number(static_cast<long long>(i)).raw(";dur=").number(r.duration.count(), 3);
    w.raw(";desc=\"").raw(fanout::to_string(r.kind)).raw("\"");
  }
}

/// The tokens that grant access: those of `tokens` that are configured.
std::vector<std::string> configured(std::initializer_list<std::optional<std::string>> tokens) {
  std::vector<std::string> given;
  for (const auto &token : tokens)
    if (token) given.push_back(*token);
  return given;
}

}  // namespace

http_front::http_front(const config::service_config &config, config::live_routes &routes,
                       client::upstream_client &client, const service_log &log, const config::access_tokens &tokens)
    : config_(config),
      routes_(routes),
      client_(client),
      log_(log),
      admin_auth_(configured({tokens.admin}), "aggregator admin"),
      // Aggregations stay open unless a client token is configured; the admin token passes there too.
      client_auth_(tokens.client ? configured({tokens.client, tokens.admin}) : std::vector<std::string>{},
                   "aggregator"),
      jobs_(jobs::job_limits{config.jobs.max_jobs, config.jobs.keep_finished}),
      job_api_(config, routes, client, jobs_),
      admin_api_(routes),
      listener_(std::make_unique<listener>(
          http::request_limits{}, [this](const http::refusal &why, const http::request &partial,
                                         clock::time_point started) { return refused(why, partial, started); })) {
  listener &server = *listener_;
  server.set_tcp_nodelay(true);  // without it every keep-alive response waits ~40 ms (Nagle)
  server.set_keep_alive_max_count(10'000);
  server.set_keep_alive_timeout(30);
  // One worker serves a connection for its whole keep-alive life: the pool bounds open connections.
  // cpp-httplib owns and deletes the queue it gets from this factory.
  const std::size_t threads = config_.server.threads;
  server.new_task_queue = [threads] { return std::make_unique<httplib::ThreadPool>(threads).release(); };
  install_hooks();
}

http_front::~http_front() = default;

void http_front::install_hooks() {
  listener &server = *listener_;
  // Every request is answered here, before cpp-httplib's routing: we route by exact path (which also
  // tells 404 from 405), and its routing would match each path against std::regex patterns, whose
  // matcher recurses once per character of the path.
  server.set_pre_routing_handler([this](const httplib::Request &request, httplib::Response &response) {
    const std::string given = request.get_header_value("X-Request-Id");
    current_request().request_id = acceptable_request_id(given) ? given : new_request_id();
    dispatch(request, response);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors cpp-httplib produces itself (malformed request, body too large) get a JSON body too;
  // a body a handler already set is kept.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse{[](const httplib::Request &, httplib::Response &response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_json(response, response.status, error_json_for_status(response.status), current_request().started);
        return httplib::Server::HandlerResponse::Handled;
      }});
  // Without a handler cpp-httplib would put e.what() into a header; log it and say nothing inside.
  server.set_exception_handler(
      [this](const httplib::Request &request, httplib::Response &response, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception &e) {
          what = e.what();
        } catch (...) {
        }
        log_.event(level::error, request.method + " " + request.path + " failed: " + what);
        send_json(response, 500, error_json("internal", "internal error"), current_request().started);
      });
  // Headers every response carries, errors included; the body is final by now. Metrics are
  // recorded here, before the response leaves, so a client never sees a request it made missing.
  server.set_post_routing_handler([this](const httplib::Request &, httplib::Response &response) {
    request_context &context = current_request();
    if (context.request_id.empty()) context.request_id = new_request_id();
    response.set_header("X-Request-Id", context.request_id);
    const auto took = clock::now() - context.started;
    std::string timing;
    fanout::json_writer{timing}.raw("total;dur=").number(std::chrono::duration<double, std::milli>(took).count(), 3);
    response.set_header("Server-Timing", timing + context.timing_entries);
    metrics_.record_request(context.route, response.status, took);
  });
  // The access line is written once the response is sent, with the time that took included.
  server.set_logger([this](const httplib::Request &request, const httplib::Response &response) {
    const request_context &context = current_request();
    log_.access({context.request_id, request.method, request.path, context.route, response.status, response.body.size(),
                 clock::now() - context.started, context.upstream_calls, context.upstream_failures});
  });
}

std::uint16_t http_front::bind() {
  const auto &where = config_.server;
  int port = where.port;
  if (port == 0) {
    port = listener_->bind_to_any_port(where.host);
  } else if (!listener_->bind_to_port(where.host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + where.host + ":" + std::to_string(where.port) +
                             " (address in use, or not an address of this machine)");
  if (!listener_->raise_backlog(where.backlog)) throw std::runtime_error("listen() with a larger backlog failed");
  return static_cast<std::uint16_t>(port);
}

bool http_front::run() {
  const bool clean = listener_->listen_after_bind();
  return clean || stop_requested_.load();
}

void http_front::stop() {
  stop_requested_.store(true);
  listener_->halt();
}

bool http_front::shut_down(std::chrono::milliseconds grace) {
  stop();
  const auto give_up = clock::now() + grace;
  while (aggregations_in_flight() > 0 && clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  if (aggregations_in_flight() == 0) return true;
  log_.event(level::warn, "grace period over: cancelling " + std::to_string(aggregations_in_flight()) +
                              " aggregations still in flight");
  cancel_in_flight();
  return false;
}

void http_front::cancel_in_flight() const {
  const std::lock_guard lock{active_mutex_};
  for (std::stop_source *stop : active_) stop->request_stop();
}

std::string http_front::refused(const http::refusal &why, const http::request &partial,
                                clock::time_point started) const {
  const std::string id = new_request_id();
  std::string body = error_json(why.code, why.message);
  body.pop_back();
  fanout::json_writer w{body};
  w.raw(",").key("elapsed").number(std::chrono::duration<double>(clock::now() - started).count(), 6).raw("}");
  std::string timing;
  fanout::json_writer{timing}
      .raw("total;dur=")
      .number(std::chrono::duration<double, std::milli>(clock::now() - started).count(), 3);
  std::string out;
  http::append_status_line(out, why.status);
  http::append_header(out, "Content-Type", "application/json");
  http::append_header(out, "Connection", "close");
  http::append_header(out, "X-Request-Id", id);
  http::append_header(out, "Server-Timing", timing);
  http::append_content_length(out, body.size());
  out += "\r\n";
  out += body;
  const auto took = clock::now() - started;
  metrics_.record_request("-", why.status, took);
  log_.access({id, partial.method.empty() ? "-" : partial.method, partial.target.empty() ? "-" : partial.target, "-",
               why.status, body.size(), took, 0, 0});
  return out;
}

void http_front::dispatch(const httplib::Request &request, httplib::Response &response) const {
  // Probes and scrapers need no token; the admin API needs the admin token; the rest the client's, if any.
  const bool probe = request.path == "/health" || request.path == "/ready" || request.path == "/metrics";
  const auto routes = routes_.current();  // this request's snapshot, whatever changes meanwhile
  const auto target = routes->endpoint_at(request.path);
  if (route_admin_api::serves(request.path)) {
    serve_admin(request, response);
    if (response.status == 204) return;  // no content, not even `elapsed`
  } else if (!probe && !client_auth_.admit(request, response)) {
    // the refusal (401 or 403) is in the response
  } else if (job_api::serves(request.path)) {
    job_api_.serve(request, response);
  } else if (!target && !probe && request.path != "/") {
    set_reply(response, 404, error_json("not_found", "no endpoint at " + request.path + "; GET / lists them"));
  } else if (request.method != "GET" && request.method != "HEAD") {
    response.set_header("Allow", "GET, HEAD");
    set_reply(response, 405, error_json("method_not_allowed", request.method + " is not allowed here; use GET"));
  } else if (request.path == "/metrics") {
    return serve_metrics(response);  // Prometheus text, not JSON
  } else if (request.path == "/health") {
    set_reply(response, 200, R"({"status":"ok"})");
  } else if (request.path == "/ready") {
    const bool ready = client_.running() && !stop_requested_.load();
    set_reply(response, ready ? 200 : 503, ready ? R"({"status":"ready"})" : R"({"status":"not ready"})");
  } else if (request.path == "/") {
    set_reply(response, 200, index_json(*routes));
  } else if (target->kind == config::endpoint_kind::stream) {
    serve_stream(*target, request, response);
    if (response.body.empty()) return;  // streaming: cpp-httplib writes it once this returns
  } else {
    serve_aggregate(*target, request, response);
  }
  send_json(response, response.status, std::move(response.body), current_request().started);
}

void http_front::serve_admin(const httplib::Request &request, httplib::Response &response) const {
  if (admin_auth_.open())
    return set_reply(response, 404,
                     error_json("admin_disabled",
                                "the admin API is off: give the service an admin token "
                                "(auth.admin_token_file or AGGREGATOR_ADMIN_TOKEN)"));
  if (!admin_auth_.admit(request, response)) return;
  admin_api_.serve(request, response);
  if (request.method != "GET" && request.method != "HEAD" && response.status < 300)
    log_.event(level::info, "admin: " + request.method + " " + request.path + " -> " + std::to_string(response.status) +
                                (routes_.file().empty() ? " (in memory only)" : " (saved to " + routes_.file() + ")"));
}

/// Counts one aggregation in flight for as long as it lives.
class http_front::in_flight_slot {
 public:
  explicit in_flight_slot(std::atomic<std::size_t> &count) noexcept : count_(count) {}
  in_flight_slot(const in_flight_slot &) = delete;
  in_flight_slot &operator=(const in_flight_slot &) = delete;
  ~in_flight_slot() { count_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> &count_;
};

/// Keeps a stop source in the set a shutdown cancels, for as long as it lives.
class http_front::cancel_on_shutdown {
 public:
  cancel_on_shutdown(const http_front &front, std::stop_source stop) : front_(front), stop_(std::move(stop)) {
    const std::lock_guard lock{front_.active_mutex_};
    front_.active_.insert(&stop_);
  }
  cancel_on_shutdown(const cancel_on_shutdown &) = delete;
  cancel_on_shutdown &operator=(const cancel_on_shutdown &) = delete;
  ~cancel_on_shutdown() {
    const std::lock_guard lock{front_.active_mutex_};
    front_.active_.erase(&stop_);
  }

 private:
  const http_front &front_;
  std::stop_source stop_;
};

std::optional<http_front::admitted> http_front::admit(const config::endpoint &target, const httplib::Request &request,
                                                      httplib::Response &response) const {
  current_request().route = target.route->name;
  // Past the cap, answer at once: queueing would slow every client down instead of some.
  const std::size_t running = aggregations_in_flight_.fetch_add(1, std::memory_order_relaxed);
  auto slot = std::make_unique<in_flight_slot>(aggregations_in_flight_);
  if (running >= config_.server.max_aggregations || stop_requested_.load()) {
    response.set_header("Retry-After", "1");
    set_reply(response, 503,
              error_json("overloaded", stop_requested_.load() ? "the service is shutting down"
                                                              : "too many aggregations in flight; retry shortly"));
    return std::nullopt;
  }
  const fanout::query_params query(request.params.begin(), request.params.end());
  const auto header = [&request](std::string_view name) -> std::optional<std::string> {
    const std::string key{name};
    if (!request.has_header(key)) return std::nullopt;
    return request.get_header_value(key);
  };
  auto planned = fanout::make_plan(target.route, query, header);
  if (const auto *error = std::get_if<fanout::request_error>(&planned)) {
    set_reply(response, error->status, error_json(error->code, error->message));
    return std::nullopt;
  }
  return admitted{std::get<fanout::fan_out_plan>(std::move(planned)), std::move(slot)};
}

/// What keeps an admitted aggregation accounted for until it ends: its in-flight slot, the watch on
/// its client's socket (a client that goes away cancels it: nobody is left to read the answer), and
/// its place among those a shutdown cancels when the grace period runs out.
struct http_front::aggregation_hold {
  std::unique_ptr<in_flight_slot> slot;
  std::optional<disconnect_watcher::registration> watching;
  std::optional<cancel_on_shutdown> registered;
};

std::unique_ptr<http_front::aggregation_hold> http_front::hold(std::unique_ptr<in_flight_slot> slot,
                                                               const std::stop_source &stop) const {
  auto held = std::make_unique<aggregation_hold>();
  held->slot = std::move(slot);
  if (const auto *connection = current_request().connection)
    held->watching.emplace(watcher_.watch(connection->socket(), stop));
  held->registered.emplace(*this, stop);
  return held;
}

void http_front::serve_aggregate(const config::endpoint &target, const httplib::Request &request,
                                 httplib::Response &response) const {
  auto admission = admit(target, request, response);
  if (!admission) return;
  const std::stop_source stop;
  const auto held = hold(std::move(admission->slot), stop);
  const fanout::fan_out_plan &plan = admission->plan;
  const fanout::aggregate result = target.kind == config::endpoint_kind::aggregate
                                       ? fanout::run_async(client_, plan, stop.get_token())
                                       : fanout::run_sync(client_.options(), plan, stop.get_token());
  record(result);
  fanout::rendered_aggregate rendered = fanout::render(result);
  response.status = rendered.status;
  response.set_header("X-Aggregate-Complete", rendered.complete ? "true" : "false");
  response.body = std::move(rendered.body);
}

void http_front::serve_stream(const config::endpoint &target, const httplib::Request &request,
                              httplib::Response &response) const {
  auto admission = admit(target, request, response);
  if (!admission) return;
  const auto run = fanout::background_aggregation::start(client_, std::move(admission->plan));
  std::shared_ptr<aggregation_hold> held = hold(std::move(admission->slot), run->stop_source());
  const bool sse = request.get_header_value("Accept").find("text/event-stream") != std::string::npos;
  stream_results(response, run, sse, std::move(held));  // released when the stream ends
}

void http_front::record(const fanout::aggregate &result) const {
  request_context &context = current_request();
  context.upstream_calls = result.results.size();
  context.upstream_failures = result.failures();
  add_timing_entries(context.timing_entries, result);
  std::array<std::uint64_t, fanout::outcome_kind_count> by_kind{};
  for (const auto &r : result.results) ++by_kind[static_cast<std::size_t>(r.kind)];
  for (std::size_t kind = 0; kind < by_kind.size(); ++kind)
    if (by_kind[kind] != 0)
      metrics_.record_upstream(fanout::to_string(static_cast<fanout::outcome_kind>(kind)), by_kind[kind]);
}

void http_front::serve_metrics(httplib::Response &response) const {
  metrics::gauges now;
  now.aggregations_in_flight = aggregations_in_flight();
  now.transfers_in_flight = client_.transfers_in_flight();
  now.open_connections = listener_->open_connections();
  now.loop_lag_seconds = std::chrono::duration<double>(client_.take_max_lag()).count();
  response.status = 200;
  response.set_header("Content-Type", "text/plain; version=0.0.4");
  response.body = metrics_.render(now);
}

std::string http_front::index_json(const config::route_table &routes) const {
  boost::json::array endpoints;
  for (const auto &shared : routes.routes()) {
    const config::route_config &route = *shared;
    endpoints.push_back(boost::json::object{{"path", route.path}, {"route", route.name}, {"mode", "async"}});
    endpoints.push_back(boost::json::object{{"path", route.sync_path()}, {"route", route.name}, {"mode", "sync"}});
    endpoints.push_back(boost::json::object{{"path", route.stream_path()}, {"route", route.name}, {"mode", "stream"}});
  }
  for (const char *path : {"/api/jobs", "/health", "/ready", "/metrics"})
    endpoints.push_back(boost::json::object{{"path", path}});
  if (!admin_auth_.open()) endpoints.push_back(boost::json::object{{"path", "/admin/routes"}, {"auth", "admin"}});
  return boost::json::serialize(boost::json::object{{"endpoints", std::move(endpoints)}});
}

}  // namespace agg::server
