// A route's three endpoints: the async aggregation, the sync baseline and the stream. Each plans the
// request through the aggregation's door, runs it its own way and answers; what they report is the same.

#include "aggregator/endpoints/route_endpoints.hpp"

#include <array>
#include <exception>
#include <optional>

#include "aggregator/coro/detached.hpp"
#include "aggregator/coro/outcome.hpp"
#include "aggregator/fanout/render.hpp"
#include "aggregator/telemetry/call_spans.hpp"
#include "aggregator/telemetry/trace_exporter.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::endpoints {

namespace {

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

/// A call cancelled because the shutdown's grace ran out says so, rather than only "cancelled".
void name_shutdown_cancel(const route_serving &s, fanout::upstream_result &result) {
  if (result.kind == calls::outcome_kind::cancelled && s.admitted != nullptr && s.admitted->cancelled_all())
    result.detail = calls::cancelled_by_shutdown_grace;
}

void name_shutdown_cancels(const route_serving &s, fanout::aggregate &result) {
  for (auto &r : result.results) name_shutdown_cancel(s, r);
}

/// What the access log, the metrics, Server-Timing and the trace say of a finished aggregation.
void account(const route_serving &s, filters::request_context &request, const fanout::aggregate &result) {
  if (s.traces != nullptr && request.trace && request.trace->sampled()) {
    std::string &spans = telemetry::trace_exporter::scratch();
    s.traces->offer(spans, telemetry::write_call_spans(spans, *request.trace, result));
  }
  runtime::metrics &stats = s.stats;
  request.upstream_calls = result.results.size();
  request.upstream_failures = result.failures();
  add_timing_entries(request.timing_entries, result);
  std::array<std::uint64_t, calls::outcome_kind_count> by_kind{};
  for (const auto &r : result.results) ++by_kind[static_cast<std::size_t>(r.kind)];
  for (std::size_t kind = 0; kind < by_kind.size(); ++kind)
    if (by_kind[kind] != 0) stats.record_upstream(calls::outcome_kind_names[kind], by_kind[kind]);
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
void answer(const route_serving &s, filters::exchange &x, const fanout::aggregate &result) {
  account(s, x.request(), result);
  fanout::rendered_aggregate rendered = fanout::render(result);
  http::response reply = http::response::json(rendered.status, std::move(rendered.body));
  reply.with_header("X-Aggregate-Complete", rendered.complete ? "true" : "false");
  if (std::string status = cache_status(result); !status.empty()) reply.with_header("Cache-Status", std::move(status));
  x.respond(std::move(reply));
}

/// A failure of ours (out of memory, a bug) while serving: logged, answered 500, never a crash.
void answer_internal_error(const route_serving &s, filters::exchange &x, std::exception_ptr error) {
  const std::string what = coro::what_of(std::move(error), "unknown exception");
  s.log.event(level::error, x.request().request.method + " " + x.request().path + " failed: " + what);
  x.respond(http::response::error(500, "internal", "internal error"));
}

/// The route's plan for the request, or nullopt once its refusal (413, or the plan's 4xx) is answered.
std::optional<fanout::fan_out_plan> plan_of(const route_serving &s, filters::exchange &x) {
  const filters::request_context &r = x.request();
  const config::route_config &route = *r.match.route;
  if (r.request.body.size() > route.max_request_body_bytes) {
    x.respond(http::response::error(413, "body_too_large",
                                    "the request body has " + std::to_string(r.request.body.size()) +
                                        " bytes; this route takes at most " +
                                        std::to_string(route.max_request_body_bytes)));
    return std::nullopt;
  }
  const auto header = [&r](std::string_view name) { return r.request.joined(name); };
  auto planned = s.door.plan(r.match.route, r.query, header, r.request.body, call_marks_of(r));
  if (const auto *error = std::get_if<fanout::request_error>(&planned)) {
    x.respond(http::response::error(error->status, error->code, error->message));
    return std::nullopt;
  }
  return std::get<fanout::fan_out_plan>(std::move(planned));
}

coro::detached gather_and_answer(route_serving s, filters::exchange x, fanout::fan_out_plan plan) {
  std::optional<fanout::aggregate> result;
  std::exception_ptr failed;
  try {
    result = co_await s.door.gather(std::move(plan), *x.loop(), x.stop_source().get_token());
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) co_return answer_internal_error(s, x, failed);
  name_shutdown_cancels(s, *result);
  answer(s, x, *result);
}

coro::detached gather_on_pool_and_answer(route_serving s, filters::exchange x, fanout::fan_out_plan plan) {
  std::optional<fanout::aggregate> result =
      co_await s.door.gather_one_by_one(std::move(plan), x.loop()->events(), x.stop_source().get_token());
  if (!result) {
    http::response busy =
        http::response::error(503, "overloaded", "every sync-baseline thread is busy and the queue is full");
    co_return x.respond(std::move(busy.with_header("Retry-After", "1")));
  }
  name_shutdown_cancels(s, *result);
  answer(s, x, *result);
}

/// The stream: the head at once, a chunk per result as it arrives, then the summary.
coro::detached stream_and_end(route_serving s, filters::exchange x, fanout::fan_out_plan plan, bool sse) {
  x.begin_stream(stream_head(sse));
  filters::exchange *const out = &x;
  const route_serving *serving = &s;
  const fanout::arrival_listener on_arrival = [out, sse, serving](std::size_t index,
                                                                  const fanout::upstream_result &result) {
    if (result.kind != calls::outcome_kind::cancelled)
      return out->stream_chunk(frame(fanout::render_arrival(index, result), sse, "upstream"));
    fanout::upstream_result named = result;
    name_shutdown_cancel(*serving, named);
    out->stream_chunk(frame(fanout::render_arrival(index, named), sse, "upstream"));
  };
  fanout::aggregate whole =
      co_await s.door.gather(std::move(plan), *x.loop(), x.stop_source().get_token(), &on_arrival);
  name_shutdown_cancels(s, whole);
  account(s, x.request(), whole);
  x.stream_chunk(frame(fanout::render_summary(whole), sse, "summary"));
  x.end_stream();
}

}  // namespace

bool wants_sse(const filters::request_context &r) {
  return r.request.header("Accept").value_or("").find("text/event-stream") != std::string_view::npos;
}

std::string_view stream_type(bool sse) { return sse ? "text/event-stream" : "application/x-ndjson"; }

http::response stream_head(bool sse) {
  http::response head{.status = 200, .content_type = stream_type(sse)};
  if (sse) head.with_header("Cache-Control", "no-cache");
  return head;
}

std::string frame(const std::string &json, bool sse, const char *event) {
  if (!sse) return json + "\n";
  return std::string{"event: "} + event + "\ndata: " + json + "\n\n";
}

fanout::call_marks call_marks_of(const filters::request_context &request) {
  fanout::call_marks marks{request.trace, request.hop_lines, nullptr, {}};
  if (const auto &who = request.identity) {
    marks.claims = who->claims;
    if (who->by == auth::identity::kind::api_key) marks.api_key_name = who->name;
  }
  return marks;
}

void route_endpoint::serve(filters::exchange x) const {
  auto plan = plan_of(serving_, x);
  if (!plan) return;
  if (x.request().charge_calls)
    charge_then_run(serving_, way_, std::move(x), std::move(*plan));
  else
    run(serving_, way_, std::move(x), std::move(*plan));
}

void route_endpoint::run(const route_serving &s, way how, filters::exchange x, fanout::fan_out_plan plan) {
  switch (how) {
    case way::gather: gather_and_answer(s, std::move(x), std::move(plan)); break;
    case way::one_by_one: gather_on_pool_and_answer(s, std::move(x), std::move(plan)); break;
    case way::stream: {
      const bool sse = wants_sse(x.request());
      stream_and_end(s, std::move(x), std::move(plan), sse);
      break;
    }
  }
}

coro::detached route_endpoint::charge_then_run(route_serving s, way how, filters::exchange x,
                                               fanout::fan_out_plan plan) {
  filters::request_context &r = x.request();
  std::optional<http::response> refused = co_await r.charge_calls(r, fanout::calls_to_charge(plan));
  if (refused) co_return x.respond(std::move(*refused));
  run(s, how, std::move(x), std::move(plan));
}

void route_head_endpoint::serve(filters::exchange x) const {
  if (!plan_of(serving_, x)) return;
  http::response head{.status = 200, .length_unknown = true};
  if (x.request().match.kind == config::endpoint_kind::stream) head.content_type = stream_type(wants_sse(x.request()));
  x.respond(std::move(head));
}

}  // namespace agg::endpoints
