#include "aggregator/fanout/render.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "aggregator/text/json_writer.hpp"

namespace agg::fanout {

namespace {

double milliseconds(std::chrono::duration<double, std::milli> d) { return d.count(); }

/// The members of one upstream's entry, without the braces. Names are written with their quotes,
/// colon and leading comma as one literal: one append each, a tenth of an aggregation's keys.
void describe_members(text::json_writer &w, std::size_t index, const upstream_result &r) {
  w.raw(R"("index":)").number(static_cast<long long>(index));
  if (!r.name.empty()) w.raw(R"(,"name":)").string(r.name);
  if (!r.item_value.is_null()) w.raw(R"(,"item":)").value(r.item_value);
  if (r.method != "GET") w.raw(R"(,"method":)").string(r.method);
  w.raw(R"(,"url":)").string(r.url);
  w.raw(R"(,"ok":)").boolean(r.kind == calls::outcome_kind::ok);
  w.raw(R"(,"status":)");
  if (r.status != 0)
    w.number(r.status);
  else
    w.null();
  w.raw(R"(,"error":)");
  if (r.kind == calls::outcome_kind::ok)
    w.null();
  else
    w.raw("{").key("kind").string(to_string(r.kind)).raw(R"(,"message":)").string(r.detail).raw("}");
  if (r.required) w.raw(R"(,"required":)").boolean(true);
  w.raw(R"(,"start_ms":)").number(milliseconds(r.start_offset), 3);
  w.raw(R"(,"duration_ms":)").number(milliseconds(r.duration), 3);
  w.raw(R"(,"bytes":)").number(static_cast<long long>(r.bytes));
  if (r.wire_bytes != 0 && r.wire_bytes != r.bytes)  // it came compressed: `bytes` counts it decoded
    w.raw(R"(,"wire_bytes":)").number(static_cast<long long>(r.wire_bytes));
  w.raw(R"(,"connects":)").number(static_cast<long long>(r.connects));
  if (r.attempts) w.raw(R"(,"attempts":)").number(static_cast<long long>(*r.attempts));
  if (r.hedged) w.raw(R"(,"hedge_won":)").number(static_cast<long long>(*r.hedged));
  if (r.cache != stages::cache_state::none) w.raw(R"(,"cache":)").string(stages::to_string(r.cache));
  if (r.coalesced) w.raw(R"(,"coalesced":)").boolean(true);
  if (r.queued.count() > 0) w.raw(R"(,"queued_ms":)").number(milliseconds(r.queued), 3);
  if (!r.headers.empty()) {
    w.raw(R"(,"headers":)").raw("{");
    for (std::size_t i = 0; i < r.headers.size(); ++i)
      w.raw(i == 0 ? "" : ",").key(r.headers[i].first).string(r.headers[i].second);
    w.raw("}");
  }
  if (!r.notes.empty()) {
    w.raw(R"(,"notes":)").raw("[");
    for (std::size_t i = 0; i < r.notes.size(); ++i) w.raw(i == 0 ? "" : ",").string(r.notes[i]);
    w.raw("]");
  }
}

/// Entry `entry`'s named result: its body, or the array of its bodies (plan order is item order).
void write_named(text::json_writer &w, const aggregate &result, std::size_t entry) {
  const auto unsent = [](const upstream_result &r) {
    return r.kind == calls::outcome_kind::skipped || r.kind == calls::outcome_kind::missing_value ||
           r.kind == calls::outcome_kind::too_many_items;
  };
  // An entry that could not plan its calls has one slot saying why, and no array of results.
  const auto own = std::find_if(result.results.begin(), result.results.end(),
                                [entry](const upstream_result &r) { return r.entry == entry; });
  const bool multiple = result.route->upstreams[entry].multiple() && !(own != result.results.end() && unsent(*own));
  bool first = true;
  if (multiple) w.raw("[");
  for (const auto &r : result.results) {
    if (r.entry != entry) continue;
    if (!multiple) return void(w.value(r.body));
    w.raw(first ? "" : ",").value(r.body);
    first = false;
  }
  if (multiple)
    w.raw("]");
  else
    w.null();  // no slot at all: cannot happen, every entry has one
}

/// The body of entry `entry` when it is one object (a named entry with one call that gave an object).
const boost::json::object *object_of(const aggregate &result, std::size_t entry) {
  if (result.route->upstreams[entry].multiple()) return nullptr;
  for (const auto &r : result.results)
    if (r.entry == entry) return r.body.if_object();
  return nullptr;
}

/// `,"data":{...}`: keyed by entry name, or (shallow) the members of every named object merged in
/// config order, a later entry's member replacing an earlier one's, each replacement listed in
/// `,"conflicts":[...]`. An entry whose result is no object keeps its name as its key.
void write_data(text::json_writer &w, const aggregate &result) {
  const config::route_config &route = *result.route;
  if (route.merge == config::merge_mode::none) return;
  w.raw(R"(,"data":)").raw("{");
  bool first = true;
  if (route.merge == config::merge_mode::keyed) {
    for (std::size_t e = 0; e < route.upstreams.size(); ++e) {
      if (route.upstreams[e].name.empty()) continue;
      w.raw(first ? "" : ",").key(route.upstreams[e].name);
      write_named(w, result, e);
      first = false;
    }
    w.raw("}");
    return;
  }
  struct member {
    std::string_view key;
    std::size_t entry;
    const boost::json::value *value;  // null: the entry's whole result under its name
  };
  struct conflict {
    std::string_view key;
    std::size_t replaced;
    std::size_t by;
  };
  std::vector<member> merged;
  std::vector<conflict> conflicts;
  const auto add = [&](std::string_view key, std::size_t entry, const boost::json::value *value) {
    const auto same = std::find_if(merged.begin(), merged.end(), [key](const member &m) { return m.key == key; });
    if (same == merged.end()) return merged.push_back({key, entry, value});
    conflicts.push_back({key, same->entry, entry});
    same->entry = entry;
    same->value = value;
  };
  for (std::size_t e = 0; e < route.upstreams.size(); ++e) {
    if (route.upstreams[e].name.empty()) continue;
    if (const boost::json::object *o = object_of(result, e))
      for (const auto &kv : *o) add(kv.key(), e, &kv.value());
    else
      add(route.upstreams[e].name, e, nullptr);
  }
  for (const member &m : merged) {
    w.raw(first ? "" : ",").key(m.key);
    if (m.value != nullptr)
      w.value(*m.value);
    else
      write_named(w, result, m.entry);
    first = false;
  }
  w.raw("}");
  if (conflicts.empty()) return;
  w.raw(R"(,"conflicts":)").raw("[");
  for (std::size_t i = 0; i < conflicts.size(); ++i) {
    const conflict &c = conflicts[i];
    w.raw(i == 0 ? "" : ",").raw("{").key("key").string(c.key);
    w.raw(R"(,"replaced":)").string(route.upstreams[c.replaced].name);
    w.raw(R"(,"by":)").string(route.upstreams[c.by].name).raw("}");
  }
  w.raw("]");
}

void describe(text::json_writer &w, std::size_t index, const upstream_result &r) {
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
    const bool ok = r.kind == calls::outcome_kind::ok;
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
  text::json_writer w{line};
  w.raw("{");
  describe_members(w, index, result);
  w.raw(R"(,"elapsed_ms":)").number(milliseconds(result.start_offset + result.duration), 3);
  w.raw(R"(,"body":)").value(result.body).raw("}");
  return line;
}

std::string render_summary(const aggregate &result) {
  const std::size_t failed = result.failures();
  std::string line;
  text::json_writer w{line};
  w.raw("{").key("summary").boolean(true).raw(R"(,"route":)").string(result.route->name);
  w.raw(R"(,"status":)").number(static_cast<long long>(aggregate_status(result)));
  w.raw(R"(,"complete":)").boolean(failed == 0);
  if (result.response_bytes_limited) w.raw(R"(,"max_response_bytes_reached":)").boolean(true);
  w.raw(R"(,"succeeded":)").number(static_cast<long long>(result.results.size() - failed));
  w.raw(R"(,"failed":)").number(static_cast<long long>(failed));
  w.raw(R"(,"elapsed_ms":)").number(milliseconds(result.finished - result.started), 3).raw("}");
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
  text::json_writer w{out.body};
  w.raw("{").key("message").string(result.route->message);
  w.raw(R"(,"responses":)").raw("[");
  for (std::size_t i = 0; i < total; ++i) w.raw(i == 0 ? "" : ",").value(result.results[i].body);
  w.raw("]");
  write_data(w, result);
  w.raw(R"(,"debug_message":)").string(debug);
  w.raw(R"(,"route":)").string(result.route->name);
  w.raw(R"(,"mode":)").string(to_string(result.mode));
  w.raw(R"(,"complete":)").boolean(failed == 0);
  if (result.response_bytes_limited) w.raw(R"(,"max_response_bytes_reached":)").boolean(true);
  w.raw(R"(,"succeeded":)").number(static_cast<long long>(total - failed));
  w.raw(R"(,"failed":)").number(static_cast<long long>(failed));
  w.raw(R"(,"fetch_seconds":)").number(seconds, 6);
  w.raw(R"(,"upstreams":)").raw("[");
  for (std::size_t i = 0; i < total; ++i) {
    if (i != 0) w.raw(",");
    describe(w, i, result.results[i]);
  }
  w.raw("]}");
  return out;
}

}  // namespace agg::fanout
