#include "aggregator/fanout/entry_calls.hpp"

#include <boost/json/serialize.hpp>

#include <stdexcept>

#include "aggregator/text/character_rules.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::fanout {

namespace json = boost::json;

namespace {

/// A value a slot needs and cannot have: ends the planning of the entry, never the aggregation.
struct missing_value : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The values one call's slots take.
struct call_values {
  const fan_out_plan &plan;
  const config::upstream_entry &entry;
  const entry_values &values;
  std::size_t i = 0;
  const json::value *item = nullptr;  ///< the for-each value (a batch: the array of them)
  std::string item_text;              ///< `{item}`: its text (a batch: the texts joined)
};

std::string describe(const json::value &v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::object: return "an object";
    case json::kind::array: return "an array";
    default: return "a value";
  }
}

const json::value &referenced(const call_values &c, const config::template_slot &slot) {
  const json::value *source = nullptr;
  if (slot.from_claims) {
    boost::system::error_code ec;
    const json::value *claim = c.plan.inputs.claims ? c.plan.inputs.claims->find_pointer(*slot.pointer, ec) : nullptr;
    if (claim == nullptr) throw missing_value(slot.text() + ": the caller's token has no claim at " + *slot.pointer);
    return *claim;
  }
  if (slot.name == "request") {
    source = &c.plan.inputs.body_value;
  } else {
    for (std::size_t e = 0; e < c.plan.route->upstreams.size() && source == nullptr; ++e)
      if (c.plan.route->upstreams[e].name == slot.name) source = c.values(e);
  }
  if (source == nullptr) throw missing_value(slot.text() + ": " + slot.name + " has no result");
  boost::system::error_code ec;
  const json::value *found = source->find_pointer(*slot.pointer, ec);
  if (found == nullptr)
    throw missing_value(slot.text() + ": " + (slot.name == "request" ? "the request body" : slot.name + "'s body") +
                        " has nothing at '" + *slot.pointer + "'");
  return *found;
}

std::string slot_text(const call_values &c, const config::template_slot &slot);

/// The slot's value as JSON (for a whole-string slot of a body template).
json::value slot_value(const call_values &c, const config::template_slot &slot) {
  if (slot.pointer) return referenced(c, slot);
  if (slot.name == config::api_key_name_slot) return json::string(slot_text(c, slot));
  if (slot.name == "i") return static_cast<std::uint64_t>(c.i);
  if (slot.name == "num") return static_cast<std::uint64_t>(c.plan.inputs.count);
  if (slot.name == "item" && c.item != nullptr) return c.entry.batch ? json::value(json::string(c.item_text)) : *c.item;
  if (slot.name == "items" && c.item != nullptr) return *c.item;
  const auto param = c.plan.inputs.params.find(slot.name);
  // Config validation guarantees every other slot is a parameter. A query value may be any bytes
  // (%FF): json_writer, which writes the body, makes what is not UTF-8 U+FFFD.
  return json::string(param->second);
}

/// The slot's value as text (URLs, header values, text around slots in a body template).
std::string slot_text(const call_values &c, const config::template_slot &slot) {
  if (slot.name == config::api_key_name_slot) {
    if (c.plan.inputs.api_key_name.empty()) throw missing_value("{api_key.name}: the caller sent no API key");
    return c.plan.inputs.api_key_name;
  }
  if (!slot.pointer) {
    if (slot.name == "i") return std::to_string(c.i);
    if (slot.name == "num") return std::to_string(c.plan.inputs.count);
    if (slot.name == "item" && c.entry.batch) return c.item_text;
    if (const auto param = c.plan.inputs.params.find(slot.name); param != c.plan.inputs.params.end())
      return param->second;
  }
  const json::value &v = slot.pointer ? referenced(c, slot) : *c.item;
  if (auto text = scalar_text(v)) return std::move(*text);
  throw missing_value(slot.text() + " is " + describe(v) + ", not a string, number or boolean");
}

/// The body template `shape` filled in; `next` walks the entry's parsed strings in the order the
/// route reader met them.
json::value expand_body(const call_values &c, const json::value &shape,
                        std::vector<config::text_template>::const_iterator &next) {
  if (const json::object *o = shape.if_object()) {
    json::object out;
    for (const auto &kv : *o) out.emplace(kv.key(), expand_body(c, kv.value(), next));
    return out;
  }
  if (const json::array *a = shape.if_array()) {
    json::array out;
    for (const auto &v : *a) out.push_back(expand_body(c, v, next));
    return out;
  }
  if (!shape.is_string()) return shape;
  const config::text_template &t = *next++;
  if (const config::template_slot *whole = t.whole_slot()) return slot_value(c, *whole);
  return json::string(t.expand([&c](const config::template_slot &slot) { return slot_text(c, slot); }));
}

calls::upstream_call make_call(const call_values &c) {
  const config::route_config &route = *c.plan.route;
  const config::upstream_entry &entry = c.entry;
  const auto text = [&c](const config::template_slot &slot) { return slot_text(c, slot); };
  calls::upstream_call call{.url = entry.url.expand(text),
                            .timeout = c.plan.inputs.call_timeout,
                            .max_body_bytes = route.max_body_bytes,
                            .deadline = c.plan.deadline,
                            .origin_length = entry.url.origin_length(),
                            .wants_cache_control = entry.policy.cache && entry.policy.cache->honor_cache_control,
                            .method = config::to_string(entry.method),
                            .body = std::nullopt,
                            .return_headers = entry.return_headers.empty() ? nullptr : &entry.return_headers,
                            .budget = c.plan.budget,
                            .timeout_by_client = c.plan.inputs.timeout_by_client};
  // Sized once: the forwarded lines, the entry's own, the trace context's two and a body's two.
  const std::vector<std::string> &forwarded = c.plan.inputs.header_lines;
  call.headers.reserve(forwarded.size() + entry.headers.size() + 4);
  call.headers.insert(call.headers.end(), forwarded.begin(), forwarded.end());
  bool typed = false;
  for (const auto &[name, value] : entry.headers) {
    std::string line = value.expand(text);
    if (text::breaks_header_line(line))
      throw missing_value("header " + name + " would hold a control character (a line break, NUL, ...)");
    typed = typed || text::equal_ignoring_case(name, "content-type");
    call.headers.push_back(name + ": " + line);
  }
  if (const auto &trace = c.plan.inputs.trace) {
    const auto entry_index = static_cast<std::size_t>(&entry - route.upstreams.data());
    call.headers.push_back(trace->call_traceparent(entry_index, c.i, "traceparent: "));
    if (!trace->tracestate.empty()) call.headers.push_back("tracestate: " + trace->tracestate);
  }
  if (entry.forward_body) call.body = c.plan.inputs.body;
  if (entry.body) {
    std::string json_text;
    auto strings = entry.body_strings.cbegin();
    text::json_writer{json_text}.value(expand_body(c, *entry.body, strings));  // numbers as people write them (12.5)
    call.body = std::move(json_text);
  }
  if (call.body && !typed) call.headers.emplace_back("Content-Type: application/json");
  // curl would ask a large body's upstream for a 100 Continue first and wait up to a second for it.
  if (call.body) call.headers.emplace_back("Expect:");
  return call;
}

/// Why `more` calls cannot join the plan: they would take it past the route's max_calls (which
/// the config check makes out of reach for the route's own entries: this is the run-time bound).
std::optional<planning_failure> past_max_calls(const fan_out_plan &plan, std::size_t more) {
  if (plan.calls.size() + more <= plan.route->max_calls) return std::nullopt;
  return planning_failure{calls::outcome_kind::too_many_items,
                          "the entry's " + std::to_string(more) + " calls would take the aggregation to " +
                              std::to_string(plan.calls.size() + more) + " calls; max_calls is " +
                              std::to_string(plan.route->max_calls)};
}

void append(fan_out_plan &plan, calls::upstream_call call, call_place place) {
  plan.calls.push_back(std::move(call));
  plan.places.push_back(std::move(place));
}

}  // namespace

std::vector<const json::value *> values_at(const json::value &value, std::string_view pointer) {
  std::vector<const json::value *> found;
  std::size_t star = 0;
  while ((star = pointer.find("/*", star)) != std::string_view::npos &&
         !(star + 2 == pointer.size() || pointer[star + 2] == '/'))
    star += 2;
  boost::system::error_code ec;
  if (star == std::string_view::npos) {
    if (const json::value *v = value.find_pointer(pointer, ec)) found.push_back(v);
    return found;
  }
  const json::value *list = star == 0 ? &value : value.find_pointer(pointer.substr(0, star), ec);
  if (list == nullptr || !list->is_array()) return found;
  for (const json::value &element : list->get_array()) {
    auto deeper = values_at(element, pointer.substr(star + 2));
    found.insert(found.end(), deeper.begin(), deeper.end());
  }
  return found;
}

std::optional<std::string> scalar_text(const json::value &v) {
  if (const json::string *s = v.if_string()) return std::string{*s};
  if (v.is_number() || v.is_bool()) return json::serialize(v);
  return std::nullopt;
}

std::optional<planning_failure> plan_entry(fan_out_plan &plan, std::size_t index, const entry_values &values) {
  const config::upstream_entry &entry = plan.route->upstreams[index];
  const std::size_t first = plan.calls.size();
  try {
    if (!entry.for_each) {
      const std::size_t repetitions = entry.repeat ? plan.inputs.count : 1;
      if (auto over = past_max_calls(plan, repetitions)) return over;
      for (std::size_t i = 0; i < repetitions; ++i) {
        const call_values c{plan, entry, values, i};
        append(plan, make_call(c), {index, i, nullptr});
      }
      return std::nullopt;
    }
    call_values whole{plan, entry, values};
    const config::template_slot &source = *entry.for_each;
    const auto found = values_at(referenced(whole, {source.name, std::string{}}), *source.pointer);
    if (found.size() > entry.max_items)
      return planning_failure{calls::outcome_kind::too_many_items,
                              "for_each found " + std::to_string(found.size()) + " values in " + source.name +
                                  "'s body; max_items is " + std::to_string(entry.max_items)};
    const std::size_t per_call = entry.batch ? entry.batch->size : 1;
    if (auto over = past_max_calls(plan, (found.size() + per_call - 1) / per_call)) return over;
    for (std::size_t start = 0, k = 0; start < found.size(); start += per_call, ++k) {
      const std::size_t end = std::min(found.size(), start + per_call);
      json::value item;
      std::string item_text;
      if (entry.batch) {
        json::array items;
        for (std::size_t v = start; v < end; ++v) {
          auto text = scalar_text(*found[v]);
          if (!text) throw missing_value("for_each value " + std::to_string(v) + " is " + describe(*found[v]));
          item_text += (v == start ? "" : entry.batch->join) + *text;
          items.push_back(*found[v]);
        }
        item = std::move(items);
      } else {
        item = *found[start];
      }
      const call_values c{plan, entry, values, k, &item, std::move(item_text)};
      calls::upstream_call call = make_call(c);  // before `item` moves into the call's place
      append(plan, std::move(call), {index, k, std::move(item)});
    }
    return std::nullopt;
  } catch (const missing_value &e) {
    plan.calls.resize(first);  // none of the entry's calls: its one slot says why
    plan.places.resize(first);
    return planning_failure{calls::outcome_kind::missing_value, e.what()};
  }
}

std::size_t plan_unsent(fan_out_plan &plan, std::size_t entry, calls::outcome_kind why) {
  calls::upstream_call call;
  call.url = plan.route->upstreams[entry].url.text();
  call.deadline = plan.deadline;
  append(plan, std::move(call), {entry, 0, nullptr, why});
  return plan.calls.size() - 1;
}

}  // namespace agg::fanout
