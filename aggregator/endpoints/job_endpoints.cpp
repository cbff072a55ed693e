// The background-jobs API: POST /api/jobs starts an aggregation on the request's loop and answers
// 202 at once; GET reports it, DELETE cancels it. The store is shared by every loop.

#include "aggregator/endpoints/job_endpoints.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <set>

#include "aggregator/config/json_text.hpp"
#include "aggregator/endpoints/route_endpoints.hpp"
#include "aggregator/jobs/job_document.hpp"

namespace agg::endpoints {

namespace {

http::response no_such_job(const std::string &id) {
  return http::response::error(404, "not_found", "no job " + id + " (unknown, or finished and evicted)");
}

/// A job's document, or the answer that says why there is none to give.
using job_read = std::variant<std::shared_ptr<const std::string>, http::response>;

job_read from_shared(store::shared_jobs::found found, const std::string &id) {
  if (auto *document = std::get_if<std::string>(&found))
    return std::make_shared<const std::string>(std::move(*document));
  if (std::holds_alternative<store::shared_jobs::missing>(found)) return no_such_job(id);
  return http::response::error(503, "store_unavailable",
                               "job " + id + " is not run by this replica, and the shared store did not answer (" +
                                   std::get<store::shared_jobs::unavailable>(found).why + ")");
}

/// A job's document as a GET reads it: from this replica's store, else from the shared one.
coro::task<job_read> read_job(jobs::job_store &store, store::shared_jobs *shared, client::upstream_loop *loop,
                              std::string id) {
  if (const auto job = store.find(id))
    co_return job->document ? job->document : std::make_shared<const std::string>(jobs::render(*job));
  if (shared == nullptr || loop == nullptr) co_return no_such_job(id);
  co_return from_shared(co_await shared->find(loop->index(), id, false), id);
}

/// A stream ends with the job's final document: a status that says it ended, and its result (a
/// cancelled job says so at once, its result follows once its calls stopped; a lost one has none).
bool final_document(const boost::json::object &job) {
  const auto *status = job.if_contains("status");
  if (status == nullptr || !status->is_string()) return true;  // not a job's: nothing to wait for
  if (status->get_string() == "pending" || status->get_string() == "running") return false;
  const auto *result = job.if_contains("result");
  return status->get_string() == "lost" || (result != nullptr && !result->is_null());
}

http::response invalid_job(const std::string &message) { return http::response::error(400, "invalid_job", message); }

/// What a job asks, read from the POSTed spec: its route and the values a request to it would carry.
struct job_spec {
  config::route_ptr route;
  fanout::query_params query;
  std::string body;  ///< what a POST to the route would carry
};

/// The spec, or the 400 that says what is wrong with it.
std::variant<job_spec, http::response> read_spec(std::string_view text, const config::live_routes &routes) {
  auto parsed = config::parse_json_text(text);
  if (const auto *repeated = std::get_if<config::config_error>(&parsed); repeated && !repeated->path.empty())
    return invalid_job(repeated->path + ": " + repeated->message);
  const auto *body = std::get_if<boost::json::value>(&parsed);
  if (body == nullptr || !body->is_object())
    return invalid_job("the body must be a JSON object: {\"route\": ..., \"params\": {...}, \"deadline_ms\": ...}");
  const auto &spec = body->as_object();
  for (const auto &kv : spec)
    if (kv.key() != "route" && kv.key() != "params" && kv.key() != "deadline_ms" && kv.key() != "body")
      return invalid_job("unknown field '" + std::string{kv.key()} +
                         "'; a job has route, params, deadline_ms and body (for a route that takes one)");
  const auto *name = spec.if_contains("route");
  if (name == nullptr || !name->is_string()) return invalid_job("route must be the name of a configured route");
  job_spec out{routes.current()->find(name->as_string()), {}, {}};
  if (!out.route) return invalid_job("no route named '" + std::string{name->as_string()} + "'");
  if (const auto *params = spec.if_contains("params")) {
    if (!params->is_object()) return invalid_job("params must be an object of parameter values");
    for (const auto &kv : params->as_object()) {
      if (kv.key() == "timeout_ms") return invalid_job("a job's time limit is deadline_ms, not a parameter");
      if (kv.value().is_string())
        out.query.emplace(std::string{kv.key()}, std::string{kv.value().as_string()});
      else if (kv.value().is_int64())
        out.query.emplace(std::string{kv.key()}, std::to_string(kv.value().as_int64()));
      else
        return invalid_job("params." + std::string{kv.key()} + " must be a string or a whole number");
    }
  }
  if (const auto *deadline = spec.if_contains("deadline_ms")) {
    const auto *ms = deadline->if_int64();
    if (ms == nullptr || *ms < 1 || *ms > out.route->deadline.count())
      return invalid_job("deadline_ms must be a whole number from 1 to " + std::to_string(out.route->deadline.count()) +
                         " (the route's deadline_ms)");
    out.query.emplace("timeout_ms", std::to_string(*ms));
  }
  if (const auto *given = spec.if_contains("body")) {
    if (!out.route->takes_body) return invalid_job("route " + out.route->name + " takes no request body");
    out.body = boost::json::serialize(*given);
  } else if (out.route->takes_body) {
    return invalid_job("route " + out.route->name + " takes a JSON request body: give it as the job's \"body\"");
  }
  return out;
}

http::response store_full(const jobs::job_store::store_full &full, const config::jobs_config &limits) {
  const std::string what = full.by_client ? "this client holds its share of the job store (jobs.max_per_client, " +
                                                std::to_string(limits.max_per_client) + " jobs)"
                           : full.by_bytes
                               ? "the job store is full (" + std::to_string(limits.max_bytes) + " bytes of results)"
                               : "the job store is full (" + std::to_string(limits.max_jobs) + " jobs)";
  http::response refused = http::response::error(
      429, "too_many_jobs",
      what + "; finished jobs are kept " + std::to_string(limits.keep_finished.count()) +
          " ms, and the first eviction that makes room is in " + std::to_string(full.retry_after.count()) + " s");
  refused.with_header("Retry-After", std::to_string(full.retry_after.count()));
  return refused;
}

}  // namespace

void job_create_endpoint::serve(filters::exchange x) const { create(serving_, std::move(x)); }

coro::detached job_create_endpoint::create(job_serving serving, filters::exchange x) {
  filters::request_context &r = x.request();
  auto read = read_spec(r.request.body, serving.routes);
  if (auto *refused = std::get_if<http::response>(&read)) co_return x.respond(std::move(*refused));
  auto &spec = std::get<job_spec>(read);
  r.route = spec.route->name;
  if (auto refused = co_await serving.guard.admit(x, spec.route)) co_return x.respond(std::move(*refused));
  auto planned = serving.door.plan(spec.route, spec.query, {}, spec.body, call_marks_of(r));  // as its POST's calls
  if (const auto *error = std::get_if<fanout::request_error>(&planned))
    co_return x.respond(http::response::error(error->status, error->code, error->message));
  auto &plan = std::get<fanout::fan_out_plan>(planned);
  if (r.charge_calls)
    if (auto refused = co_await r.charge_calls(r, fanout::calls_to_charge(plan)))
      co_return x.respond(std::move(*refused));
  plan.budget->draw_on(serving.store.bodies());  // running jobs' bodies count against jobs.max_bytes as they arrive
  auto added = serving.store.add(r.identity ? r.identity->label() : x.client_address(),
                                 [&] { return serving.door.start_background(std::move(plan), *x.loop()); });
  if (const auto *full = std::get_if<jobs::job_store::store_full>(&added))
    co_return x.respond(store_full(*full, serving.limits));
  const std::string &id = std::get<std::string>(added);
  if (serving.shared != nullptr && x.loop() != nullptr)
    co_await serving.shared->started(x.loop()->index(), id);  // any replica finds it from the answer on
  http::response accepted = http::response::json(202, "{\"id\":\"" + id + "\",\"status\":\"pending\"}");
  x.respond(std::move(accepted.with_header("Location", std::string{job_endpoint::prefix} + id)));
}

void job_endpoint::serve(filters::exchange x) const {
  std::string id = x.request().path.substr(prefix.size());
  const bool cancel = x.request().request.method == "DELETE";
  if (id.ends_with(stream_suffix)) {
    if (cancel) {
      http::response refused = http::response::error(405, "method_not_allowed", "a job's stream is read: GET or HEAD");
      return x.respond(std::move(refused.with_header("Allow", "GET, HEAD")));
    }
    id.resize(id.size() - stream_suffix.size());
    stream(store_, shared_, std::move(x), std::move(id));
    return;
  }
  const auto job = cancel ? store_.cancel(id) : store_.find(id);
  if (!job && shared_ != nullptr && x.loop() != nullptr) {
    ask_shared(*shared_, std::move(x), id, cancel);
    return;
  }
  if (!job) return x.respond(no_such_job(id));
  // A finished job's document is rendered once and its bytes shared by every GET after: a crowd
  // reading a large result slowly holds it once, not once per reader.
  std::shared_ptr<const std::string> document = job->document;
  if (!document) {
    document = std::make_shared<const std::string>(jobs::render(*job));
    if (job->result && !cancel) store_.keep_document(id, document);
  }
  x.respond(http::response{.status = 200, .shared_body = std::move(document)});
}

coro::detached job_endpoint::ask_shared(store::shared_jobs &shared, filters::exchange x, std::string id, bool cancel) {
  job_read read = from_shared(co_await shared.find(x.loop()->index(), id, cancel), id);
  if (auto *refused = std::get_if<http::response>(&read)) co_return x.respond(std::move(*refused));
  x.respond(
      http::response{.status = 200, .shared_body = std::get<std::shared_ptr<const std::string>>(std::move(read))});
}

coro::detached job_endpoint::stream(jobs::job_store &store, store::shared_jobs *shared, filters::exchange x,
                                    std::string id) {
  job_read read = co_await read_job(store, shared, x.loop(), id);
  if (auto *refused = std::get_if<http::response>(&read)) co_return x.respond(std::move(*refused));
  const bool sse = wants_sse(x.request());
  http::response head = stream_head(sse);
  if (x.request().request.method == "HEAD" || x.loop() == nullptr) {
    head.length_unknown = true;
    co_return x.respond(std::move(head));
  }
  x.begin_stream(std::move(head));
  loop::event_loop &events = x.loop()->events();
  const std::uint64_t waiter = events.new_waiter_id();
  const std::stop_token left = x.stop_source().get_token();  // the client went away
  std::set<std::int64_t> streamed;                           // the finished calls' indexes
  while (true) {
    const std::shared_ptr<const std::string> document = std::get<std::shared_ptr<const std::string>>(read);
    boost::system::error_code error;
    const boost::json::value parsed = boost::json::parse(*document, error);
    const boost::json::object *job = parsed.if_object();
    if (error || job == nullptr) break;  // not ours to have written: the stream ends here
    if (const auto *finished = job->if_contains("finished"); finished != nullptr && finished->is_array())
      for (const auto &call : finished->get_array())
        if (const auto *index = call.is_object() ? call.get_object().if_contains("index") : nullptr;
            index != nullptr && index->is_int64() && streamed.insert(index->get_int64()).second)
          x.stream_chunk(frame(boost::json::serialize(call), sse, "upstream"));
    if (final_document(*job)) {
      x.stream_chunk(frame(*document, sse, "job"));
      break;
    }
    auto parked = events.wait(waiter, loop::clock::now() + look_every, left);
    if (co_await parked == loop::event_loop::wake_reason::stop) co_return;
    read = co_await read_job(store, shared, x.loop(), id);
    if (auto *refused = std::get_if<http::response>(&read)) {  // evicted, or the store went away
      x.stream_chunk(frame(std::string{refused->payload()}, sse, "error"));
      break;
    }
  }
  x.end_stream();
}

}  // namespace agg::endpoints
