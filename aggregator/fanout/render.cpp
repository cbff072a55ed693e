#include "aggregator/fanout/render.hpp"

#include <cstdio>

#include "aggregator/fanout/json_writer.hpp"

namespace agg::fanout {

namespace {

double milliseconds(std::chrono::duration<double, std::milli> d) { return d.count(); }

/// The members of one upstream's entry, without the braces.
void describe_members(json_writer &w, std::size_t index, const upstream_result &r) {
  w.key("index").number(static_cast<long long>(index));
  w.raw(",").key("url").string(r.url);
  w.raw(",").key("ok").boolean(r.kind == outcome_kind::ok);
  w.raw(",").key("status");
  if (r.status != 0)
    w.number(r.status);
  else
    w.null();
  w.raw(",").key("error");
  if (r.kind == outcome_kind::ok)
    w.null();
  else
    w.raw("{").key("kind").string(to_string(r.kind)).raw(",").key("message").string(r.detail).raw("}");
  if (r.required) w.raw(",").key("required").boolean(true);
  w.raw(",").key("start_ms").number(milliseconds(r.start_offset), 3);
  w.raw(",").key("duration_ms").number(milliseconds(r.duration), 3);
  if (r.attempts) w.raw(",").key("attempts").number(static_cast<long long>(*r.attempts));
  if (r.hedged) w.raw(",").key("hedge_won").number(static_cast<long long>(*r.hedged));
  if (r.cache != stages::cache_state::none) w.raw(",").key("cache").string(stages::to_string(r.cache));
  if (r.coalesced) w.raw(",").key("coalesced").boolean(true);
  if (r.queued.count() > 0) w.raw(",").key("queued_ms").number(milliseconds(r.queued), 3);
}

void describe(json_writer &w, std::size_t index, const upstream_result &r) {
  w.raw("{");
  describe_members(w, index, r);
  w.raw("}");
}

}  // namespace

int aggregate_status(const aggregate &result) {
  bool any_ok = false;
  bool any_failed = false;
  bool deadline_cut = false;
  bool required_failed = false;
  bool required_cut = false;
  for (const auto &r : result.results) {
    const bool ok = r.kind == outcome_kind::ok;
    any_ok = any_ok || ok;
    any_failed = any_failed || !ok;
    deadline_cut = deadline_cut || r.deadline_passed;
    required_failed = required_failed || (r.required && !ok);
    required_cut = required_cut || (r.required && r.deadline_passed);
  }
  if (!any_failed) return 200;
  if (!any_ok) return deadline_cut ? 504 : 502;
  if (required_failed) return required_cut ? 504 : 502;
  return result.route->partial_status;
}

std::string render_arrival(std::size_t index, const upstream_result &result) {
  std::string line;
  json_writer w{line};
  w.raw("{");
  describe_members(w, index, result);
  w.raw(",").key("elapsed_ms").number(milliseconds(result.start_offset + result.duration), 3);
  w.raw(",").key("body").value(result.body).raw("}");
  return line;
}

std::string render_summary(const aggregate &result) {
  const std::size_t failed = result.failures();
  std::string line;
  json_writer w{line};
  w.raw("{").key("summary").boolean(true).raw(",").key("route").string(result.route->name);
  w.raw(",").key("status").number(static_cast<long long>(aggregate_status(result)));
  w.raw(",").key("complete").boolean(failed == 0);
  w.raw(",").key("succeeded").number(static_cast<long long>(result.results.size() - failed));
  w.raw(",").key("failed").number(static_cast<long long>(failed));
  w.raw(",").key("elapsed_ms").number(milliseconds(result.finished - result.started), 3).raw("}");
  return line;
}

rendered_aggregate render(const aggregate &result) {
  const std::size_t failed = result.failures();
  const std::size_t total = result.results.size();
  const double seconds = std::chrono::duration<double>(result.finished - result.started).count();
  char debug[64];
  std::snprintf(debug, sizeof debug, "fetch executed in %.2f seconds.", seconds);

  rendered_aggregate out;
  out.complete = failed == 0;
  out.status = aggregate_status(result);
  out.body.reserve(256 + total * 256);
  json_writer w{out.body};
  w.raw("{").key("message").string(result.route->message);
  w.raw(",").key("responses").raw("[");
  for (std::size_t i = 0; i < total; ++i) w.raw(i == 0 ? "" : ",").value(result.results[i].body);
  w.raw("]");
  w.raw(",").key("debug_message").string(debug);
  w.raw(",").key("route").string(result.route->name);
  w.raw(",").key("mode").string(to_string(result.mode));
  w.raw(",").key("complete").boolean(failed == 0);
  w.raw(",").key("succeeded").number(static_cast<long long>(total - failed));
  w.raw(",").key("failed").number(static_cast<long long>(failed));
  w.raw(",").key("fetch_seconds").number(seconds, 6);
  w.raw(",").key("upstreams").raw("[");
  for (std::size_t i = 0; i < total; ++i) {
    if (i != 0) w.raw(",");
    describe(w, i, result.results[i]);
  }
  w.raw("]}");
  return out;
}

}  // namespace agg::fanout
