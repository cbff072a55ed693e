#include "aggregator/server/job_api.hpp"

#include <httplib.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "aggregator/fanout/json_writer.hpp"
#include "aggregator/fanout/render.hpp"
#include "aggregator/server/json_response.hpp"

namespace agg::server {

namespace {

constexpr std::string_view prefix = "/api/jobs";

std::string job_json(const jobs::job_view &v) {
  std::string out;
  fanout::json_writer w{out};
  w.raw("{").key("id").string(v.id).raw(",").key("route").string(v.route);
  w.raw(",").key("status").string(jobs::to_string(v.status));
  w.raw(",").key("progress").raw("{").key("done").number(static_cast<long long>(v.arrived.size()));
  w.raw(",").key("total").number(static_cast<long long>(v.planned_calls)).raw("}");
  w.raw(",").key("finished").raw("[");  // which upstreams have answered (or failed) so far
  for (std::size_t i = 0; i < v.arrived.size(); ++i) {
    const auto &a = v.arrived[i];
    w.raw(i == 0 ? "{" : ",{").key("index").number(static_cast<long long>(a.index));
    w.raw(",").key("ok").boolean(a.result.kind == fanout::outcome_kind::ok);
    w.raw(",").key("outcome").string(fanout::to_string(a.result.kind)).raw("}");
  }
  w.raw("]").raw(",").key("result");
  if (v.result)
    w.raw(fanout::render(*v.result).body);
  else
    w.null();
  w.raw("}");
  return out;
}

}  // namespace

bool job_api::serves(std::string_view path) noexcept {
  return path == prefix || (path.starts_with(prefix) && path.size() > prefix.size() + 1 && path[prefix.size()] == '/');
}

void job_api::serve(const httplib::Request &request, httplib::Response &response) const {
  if (request.path == prefix) {
    if (request.method == "POST") return create(request, response);
    response.set_header("Allow", "POST");
    return set_reply(response, 405, error_json("method_not_allowed", "use POST to start a job"));
  }
  const std::string id = request.path.substr(prefix.size() + 1);
  if (request.method == "GET" || request.method == "HEAD") {
    const auto job = store_.find(id);
    if (!job)
      return set_reply(response, 404, error_json("not_found", "no job " + id + " (unknown, or finished and evicted)"));
    return set_reply(response, 200, job_json(*job));
  }
  if (request.method == "DELETE") {
    const auto job = store_.cancel(id);
    if (!job) return set_reply(response, 404, error_json("not_found", "no job " + id));
    return set_reply(response, 200, job_json(*job));
  }
  response.set_header("Allow", "GET, HEAD, DELETE");
  set_reply(response, 405, error_json("method_not_allowed", request.method + " is not allowed on a job"));
}

void job_api::create(const httplib::Request &request, httplib::Response &response) const {
  const auto bad = [&response](const std::string &message) {
    set_reply(response, 400, error_json("invalid_job", message));
  };
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(request.body, ec);
  if (ec || !body.is_object())
    return bad("the body must be a JSON object: {\"route\": ..., \"params\": {...}, \"deadline_ms\": ...}");
  const auto &spec = body.as_object();
  for (const auto &kv : spec)
    if (kv.key() != "route" && kv.key() != "params" && kv.key() != "deadline_ms")
      return bad("unknown field '" + std::string{kv.key()} + "'; a job has route, params and deadline_ms");
  const auto *name = spec.if_contains("route");
  if (name == nullptr || !name->is_string()) return bad("route must be the name of a configured route");
  const config::route_ptr route = routes_.current()->find(name->as_string());
  if (!route) return bad("no route named '" + std::string{name->as_string()} + "'");

  fanout::query_params query;
  if (const auto *params = spec.if_contains("params")) {
    if (!params->is_object()) return bad("params must be an object of parameter values");
    for (const auto &kv : params->as_object()) {
      if (kv.key() == "timeout_ms") return bad("a job's time limit is deadline_ms, not a parameter");
      if (kv.value().is_string())
        query.emplace(std::string{kv.key()}, std::string{kv.value().as_string()});
      else if (kv.value().is_int64())
        query.emplace(std::string{kv.key()}, std::to_string(kv.value().as_int64()));
      else
        return bad("params." + std::string{kv.key()} + " must be a string or a whole number");
    }
  }
  if (const auto *deadline = spec.if_contains("deadline_ms")) {
    const auto *ms = deadline->if_int64();
    if (ms == nullptr || *ms < 1 || *ms > route->deadline.count())
      return bad("deadline_ms must be a whole number from 1 to " + std::to_string(route->deadline.count()) +
                 " (the route's deadline_ms)");
    query.emplace("timeout_ms", std::to_string(*ms));
  }
  auto planned = fanout::make_plan(route, query);
  if (const auto *error = std::get_if<fanout::request_error>(&planned))
    return set_reply(response, error->status, error_json(error->code, error->message));

  auto &plan = std::get<fanout::fan_out_plan>(planned);
  auto added = store_.add([&] { return fanout::background_aggregation::start(client_, std::move(plan)); });
  if (std::holds_alternative<jobs::job_store::store_full>(added)) {
    response.set_header("Retry-After", "5");
    return set_reply(response, 429,
                     error_json("too_many_jobs", "the job store is full (" + std::to_string(config_.jobs.max_jobs) +
                                                     " jobs); retry once finished jobs are evicted"));
  }
  const std::string &id = std::get<std::string>(added);
  response.set_header("Location", std::string{prefix} + "/" + id);
  set_reply(response, 202, "{\"id\":\"" + id + "\",\"status\":\"pending\"}");
}

}  // namespace agg::server
