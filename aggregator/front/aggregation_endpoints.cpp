// A route's three endpoints on the data plane: the async aggregation, the sync baseline and the
// stream. All three plan the same calls and report the same result; only how the calls run differs.

#include <array>
#include <exception>
#include <optional>
#include <stop_token>
#include <variant>

#include "aggregator/coro/detached.hpp"
#include "aggregator/coro/outcome.hpp"
#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/fanout/render.hpp"
#include "aggregator/fanout/run_plan.hpp"
#include "aggregator/front/connection.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/front/endpoints.hpp"
#include "aggregator/front/loop_front.hpp"
#include "aggregator/stages/pipeline.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::front {

namespace {

using clock = std::chrono::steady_clock;
using level = config::log_config::level;

/// Per-upstream Server-Timing entries stop here: a 1000-call aggregation would make a huge header.
constexpr std::size_t max_timing_entries = 64;

/// `, fetch;dur=1001.2, u0;dur=1001.1;desc="ok", …`: the aggregation's Server-Timing entries.
void add_timing_entries(std::string &out, const fanout::aggregate &result) {
  text::json_writer w{out};
  w.raw(", fetch;dur=").number(std::chrono::duration<double, std::milli>(result.finished - result.started).count(), 3);
  const std::size_t shown = std::min(result.results.size(), max_timing_entries);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto &r = result.results[i];
    w.raw(", u").number(static_cast<long long>(i)).raw(";dur=").number(r.duration.count(), 3);
    w.raw(";desc=\"").raw(calls::to_string(r.kind)).raw("\"");
  }
}

/// What the access log, the metrics and Server-Timing say of a finished aggregation.
void account(runtime::engine &engine, request_state &state, const fanout::aggregate &result) {
  state.upstream_calls = result.results.size();
  state.upstream_failures = result.failures();
  add_timing_entries(state.timing_entries, result);
  std::array<std::uint64_t, calls::outcome_kind_count> by_kind{};
  for (const auto &r : result.results) ++by_kind[static_cast<std::size_t>(r.kind)];
  for (std::size_t kind = 0; kind < by_kind.size(); ++kind)
    if (by_kind[kind] != 0) engine.stats.record_upstream(calls::outcome_kind_names[kind], by_kind[kind]);
}

/// `aggregator; hit`, `aggregator; fwd=miss; detail="…"`: the Cache-Status (RFC 9211) of an
/// aggregation whose calls went through a cache; empty when none did.
std::string cache_status(const fanout::aggregate &result) {
  std::size_t hits = 0;
  std::size_t misses = 0;
  std::size_t stale = 0;
  for (const auto &r : result.results) {
    hits += r.cache == stages::cache_state::hit;
    misses += r.cache == stages::cache_state::miss;
    stale += r.cache == stages::cache_state::stale;
  }
  if (hits + misses + stale == 0) return {};
  const std::string counts = "detail=\"hit=" + std::to_string(hits) + " miss=" + std::to_string(misses) +
                             " stale=" + std::to_string(stale) + "\"";
  if (misses == 0 && stale == 0) return "aggregator; hit; " + counts;
  return std::string{"aggregator; fwd="} + (misses != 0 ? "miss" : "stale") + "; " + counts;
}

/// Answers with the aggregate's document (status by the route's policy).
void answer(loop_front &front, connection &client, request_state state, const fanout::aggregate &result) {
  account(front.plane().engine(), state, result);
  fanout::rendered_aggregate rendered = fanout::render(result);
  response reply = response::json(rendered.status, std::move(rendered.body));
  reply.with_header("X-Aggregate-Complete", rendered.complete ? "true" : "false");
  if (std::string status = cache_status(result); !status.empty()) reply.with_header("Cache-Status", std::move(status));
  client.respond(std::move(state), std::move(reply));
}

/// A failure of ours (out of memory, a bug) while serving: logged, answered 500, never a crash.
void answer_internal_error(loop_front &front, connection &client, request_state state, std::exception_ptr error) {
  const std::string what = coro::what_of(std::move(error), "unknown exception");
  front.plane().engine().log.event(level::error, state.request.method + " " + state.path + " failed: " + what);
  client.respond(std::move(state), response::error(500, "internal", "internal error"));
}

/// The async path: every call at once on this loop, through the route's stages; resumes here when
/// the last ends.
coro::detached run_async(loop_front *front, std::shared_ptr<connection> client, request_state state,
                         fanout::fan_out_plan plan, [[maybe_unused]] runtime::admission::ticket ticket,
                         std::stop_source stop) {
  std::optional<fanout::aggregate> result;
  std::exception_ptr failed;
  try {
    fanout::arrival_settler settler{plan, fanout::execution_mode::async, clock::now()};
    const fanout::outcome_listener on_outcome = [&settler](std::size_t index, const stages::call_outcome &outcome) {
      settler(index, outcome);  // shaped as it arrives
    };
    const auto calls = stages::pipeline::make(plan.route, front->plane().engine().stages);
    const auto outcomes = co_await fanout::run_plan(
        &plan, &calls->entry(), stages::call_site::on_loop(front->upstream()), stop.get_token(), &on_outcome);
    result = settler.take();
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) co_return answer_internal_error(*front, *client, std::move(state), failed);
  answer(*front, *client, std::move(state), *result);
}

/// The sync baseline: the same plan through the same stages, one call after another on a pool thread
/// (sync_to_async); this loop only parks the connection meanwhile and resumes to answer.
coro::detached run_on_pool(loop_front *front, std::shared_ptr<connection> client, request_state state,
                           fanout::fan_out_plan plan, [[maybe_unused]] runtime::admission::ticket ticket,
                           std::stop_source stop) {
  runtime::engine &engine = front->plane().engine();
  const auto site = stages::call_site::blocking(engine.client.options());
  const auto calls = stages::pipeline::make(plan.route, engine.stages);
  const std::stop_token token = stop.get_token();
  const auto work = [&site, &calls, &plan, &token] {
    const auto started = clock::now();
    auto outcomes = coro::sync_wait(fanout::run_plan(&plan, &calls->entry(), site, token));
    return fanout::settle(plan, fanout::execution_mode::sync, std::move(outcomes), started);
  };
  std::optional<fanout::aggregate> result = co_await engine.sync_pool.run(front->events(), work);
  if (!result) {
    response busy = response::error(503, "overloaded", "every sync-baseline thread is busy and the queue is full");
    busy.with_header("Retry-After", "1");
    co_return client->respond(std::move(state), std::move(busy));
  }
  answer(*front, *client, std::move(state), *result);
}

std::string frame(const std::string &json, bool sse, const char *event) {
  if (!sse) return json + "\n";
  return std::string{"event: "} + event + "\ndata: " + json + "\n\n";
}

/// The stream: a chunk per call the moment it finishes (NDJSON, or Server-Sent Events), then a
/// summary; bodies are parsed (and shaped) as they arrive, once each.
coro::detached run_stream(loop_front *front, std::shared_ptr<connection> client, request_state state,
                          fanout::fan_out_plan plan, [[maybe_unused]] runtime::admission::ticket ticket,
                          std::stop_source stop, bool sse) {
  std::vector<http::header_field> headers;
  if (sse) headers.push_back({"Cache-Control", "no-cache"});
  client->begin_stream(state, 200, sse ? "text/event-stream" : "application/x-ndjson", headers);
  fanout::arrival_settler settler{plan, fanout::execution_mode::async, clock::now()};
  connection *const out = client.get();
  fanout::arrival_settler *const collected = &settler;
  const fanout::outcome_listener on_outcome = [out, collected, sse](std::size_t index,
                                                                    const stages::call_outcome &outcome) {
    out->stream_chunk(frame(fanout::render_arrival(index, (*collected)(index, outcome)), sse, "upstream"));
  };
  const auto calls = stages::pipeline::make(plan.route, front->plane().engine().stages);
  const auto outcomes = co_await fanout::run_plan(&plan, &calls->entry(), stages::call_site::on_loop(front->upstream()),
                                                  stop.get_token(), &on_outcome);
  const fanout::aggregate whole = settler.take();
  account(front->plane().engine(), state, whole);
  client->stream_chunk(frame(fanout::render_summary(whole), sse, "summary"));
  client->end_stream(std::move(state));
}

}  // namespace

void serve_route(exchange x, const config::endpoint &target) {
  runtime::engine &engine = x.front.plane().engine();
  request_state &s = x.state;
  s.route = target.route->name;
  if (target.kind == config::endpoint_kind::stream && s.head_only()) {
    response head_only;
    head_only.content_type = "application/x-ndjson";
    return x.client->respond(std::move(s), std::move(head_only));  // the head a GET would get; nothing runs
  }
  std::stop_source stop = x.client->stop_source();
  auto admitted = engine.aggregations.admit(stop);
  if (const auto *refusal = std::get_if<runtime::admission::refusal>(&admitted)) {
    // Past the cap, answer at once: queueing would slow every client down instead of some.
    const bool stopping = *refusal == runtime::admission::refusal::shutting_down;
    response busy =
        response::error(503, "overloaded",
                        stopping ? "the service is shutting down" : "too many aggregations in flight; retry shortly");
    busy.with_header("Retry-After", "1");
    return x.client->respond(std::move(s), std::move(busy));
  }
  const auto header = [&s](std::string_view name) -> std::optional<std::string> {
    const auto value = s.request.header(name);
    return value ? std::optional<std::string>{std::string{*value}} : std::nullopt;
  };
  if (s.request.body.size() > target.route->max_request_body_bytes)
    return x.client->respond(std::move(s),
                             response::error(413, "body_too_large",
                                             "the request body has " + std::to_string(s.request.body.size()) +
                                                 " bytes; this route takes at most " +
                                                 std::to_string(target.route->max_request_body_bytes)));
  auto planned = fanout::make_plan(target.route, s.query, header, s.request.body, {s.trace, s.hop_lines});
  if (const auto *error = std::get_if<fanout::request_error>(&planned))
    return x.client->respond(std::move(s), response::error(error->status, error->code, error->message));
  auto &plan = std::get<fanout::fan_out_plan>(planned);
  auto ticket = std::get<runtime::admission::ticket>(std::move(admitted));
  // Each coroutine holds the ticket (its place among the aggregations in flight) until it answers.
  switch (target.kind) {
    case config::endpoint_kind::aggregate:
      run_async(&x.front, std::move(x.client), std::move(s), std::move(plan), std::move(ticket), stop);
      break;
    case config::endpoint_kind::sync_baseline:
      run_on_pool(&x.front, std::move(x.client), std::move(s), std::move(plan), std::move(ticket), stop);
      break;
    case config::endpoint_kind::stream: {
      const bool sse = s.request.header("Accept").value_or("").find("text/event-stream") != std::string_view::npos;
      run_stream(&x.front, std::move(x.client), std::move(s), std::move(plan), std::move(ticket), stop, sse);
      break;
    }
  }
}

}  // namespace agg::front
