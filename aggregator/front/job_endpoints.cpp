// The background-jobs API on the data plane: POST /api/jobs starts an aggregation on this loop and
// answers 202 at once; GET reports it, DELETE cancels it. The store is shared by every loop.

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "aggregator/config/json_text.hpp"
#include "aggregator/fanout/background_aggregation.hpp"
#include "aggregator/fanout/render.hpp"
#include "aggregator/front/connection.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/front/endpoints.hpp"
#include "aggregator/front/loop_front.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::front {

namespace {

constexpr std::string_view prefix = "/api/jobs";

std::string job_json(const jobs::job_view &v) {
  std::string out;
  text::json_writer w{out};
  w.raw("{").key("id").string(v.id).raw(",").key("route").string(v.route);
  w.raw(",").key("status").string(jobs::to_string(v.status));
  w.raw(",").key("progress").raw("{").key("done").number(static_cast<long long>(v.arrived.size()));
  w.raw(",").key("total").number(static_cast<long long>(v.planned_calls)).raw("}");
  w.raw(",").key("finished").raw("[");  // which upstreams have answered (or failed) so far
  for (std::size_t i = 0; i < v.arrived.size(); ++i) {
    const auto &a = v.arrived[i];
    w.raw(i == 0 ? "{" : ",{").key("index").number(static_cast<long long>(a.index));
    if (!a.result.name.empty()) w.raw(",").key("name").string(a.result.name);
    if (!a.result.item_value.is_null()) w.raw(",").key("item").value(a.result.item_value);
    w.raw(",").key("ok").boolean(a.result.kind == calls::outcome_kind::ok);
    w.raw(",").key("outcome").string(calls::to_string(a.result.kind)).raw("}");
  }
  w.raw("]").raw(",").key("result");
  if (v.result)
    w.raw(fanout::render(*v.result).body);
  else
    w.null();
  w.raw("}");
  return out;
}

void refuse_job(exchange &x, const std::string &message) {
  x.client->respond(std::move(x.state), response::error(400, "invalid_job", message));
}

}  // namespace

void serve_job_create(exchange x) {
  runtime::engine &engine = x.front.plane().engine();
  auto parsed = config::parse_json_text(x.state.request.body);
  if (const auto *repeated = std::get_if<config::config_error>(&parsed); repeated && !repeated->path.empty())
    return refuse_job(x, repeated->path + ": " + repeated->message);
  const auto *body = std::get_if<boost::json::value>(&parsed);
  if (body == nullptr || !body->is_object())
    return refuse_job(x, "the body must be a JSON object: {\"route\": ..., \"params\": {...}, \"deadline_ms\": ...}");
  const auto &spec = body->as_object();
  for (const auto &kv : spec)
    if (kv.key() != "route" && kv.key() != "params" && kv.key() != "deadline_ms" && kv.key() != "body")
      return refuse_job(x, "unknown field '" + std::string{kv.key()} +
                               "'; a job has route, params, deadline_ms and body (for a route that takes one)");
  const auto *name = spec.if_contains("route");
  if (name == nullptr || !name->is_string()) return refuse_job(x, "route must be the name of a configured route");
  const config::route_ptr route = engine.routes.current()->find(name->as_string());
  if (!route) return refuse_job(x, "no route named '" + std::string{name->as_string()} + "'");
  x.state.route = route->name;

  fanout::query_params query;
  if (const auto *params = spec.if_contains("params")) {
    if (!params->is_object()) return refuse_job(x, "params must be an object of parameter values");
    for (const auto &kv : params->as_object()) {
      if (kv.key() == "timeout_ms") return refuse_job(x, "a job's time limit is deadline_ms, not a parameter");
      if (kv.value().is_string())
        query.emplace(std::string{kv.key()}, std::string{kv.value().as_string()});
      else if (kv.value().is_int64())
        query.emplace(std::string{kv.key()}, std::to_string(kv.value().as_int64()));
      else
        return refuse_job(x, "params." + std::string{kv.key()} + " must be a string or a whole number");
    }
  }
  if (const auto *deadline = spec.if_contains("deadline_ms")) {
    const auto *ms = deadline->if_int64();
    if (ms == nullptr || *ms < 1 || *ms > route->deadline.count())
      return refuse_job(x, "deadline_ms must be a whole number from 1 to " + std::to_string(route->deadline.count()) +
                               " (the route's deadline_ms)");
    query.emplace("timeout_ms", std::to_string(*ms));
  }
  std::string route_body;  // what a POST to the route would carry
  if (const auto *given = spec.if_contains("body")) {
    if (!route->takes_body) return refuse_job(x, "route " + route->name + " takes no request body");
    route_body = boost::json::serialize(*given);
  }
  auto planned =
      fanout::make_plan(route, query, {}, route_body, {x.state.trace, x.state.hop_lines});  // as its POST's calls
  if (const auto *error = std::get_if<fanout::request_error>(&planned))
    return x.client->respond(std::move(x.state), response::error(error->status, error->code, error->message));

  auto &plan = std::get<fanout::fan_out_plan>(planned);
  const auto site = stages::call_site::on_loop(x.front.upstream());
  auto added =
      engine.jobs.add([&] { return fanout::background_aggregation::start(site, std::move(plan), engine.stages); });
  if (const auto *full = std::get_if<jobs::job_store::store_full>(&added)) {
    const auto &limits = engine.config.jobs;
    const std::string what = full->by_bytes ? std::to_string(limits.max_bytes) + " bytes of results"
                                            : std::to_string(limits.max_jobs) + " jobs";
    response refused = response::error(
        429, "too_many_jobs",
        "the job store is full (" + what + "); finished jobs are kept " + std::to_string(limits.keep_finished.count()) +
            " ms, and the first eviction that makes room is in " + std::to_string(full->retry_after.count()) + " s");
    refused.with_header("Retry-After", std::to_string(full->retry_after.count()));
    return x.client->respond(std::move(x.state), std::move(refused));
  }
  const std::string &id = std::get<std::string>(added);
  response accepted = response::json(202, "{\"id\":\"" + id + "\",\"status\":\"pending\"}");
  accepted.with_header("Location", std::string{prefix} + "/" + id);
  x.client->respond(std::move(x.state), std::move(accepted));
}

void serve_job(exchange x) {
  jobs::job_store &store = x.front.plane().engine().jobs;
  const std::string id = x.state.path.substr(prefix.size() + 1);
  const bool cancel = x.state.request.method == "DELETE";
  const auto job = cancel ? store.cancel(id) : store.find(id);
  if (!job)
    return x.client->respond(std::move(x.state),
                             response::error(404, "not_found", "no job " + id + " (unknown, or finished and evicted)"));
  x.client->respond(std::move(x.state), response::json(200, job_json(*job)));
}

}  // namespace agg::front
