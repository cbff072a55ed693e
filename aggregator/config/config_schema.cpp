#include "aggregator/config/config_schema.hpp"

#include <algorithm>

#include "aggregator/config/json_text.hpp"
#include "aggregator/config/load_config.hpp"

namespace agg::config {

namespace json = boost::json;

namespace {

/// The schemas `anyOf` of `s` lists, or `s` itself.
json::array alternatives(json::object s) {
  if (json::value *any = s.if_contains("anyOf"); any != nullptr && s.size() == 1) return std::move(any->as_array());
  return json::array{std::move(s)};
}

/// The keys both `required` lists hold (one schema taking either object requires only those).
json::array common_required(const json::value *a, const json::value *b) {
  json::array out;
  if (a == nullptr || b == nullptr) return out;
  for (const auto &key : a->as_array())
    if (std::find(b->as_array().begin(), b->as_array().end(), key) != b->as_array().end()) out.push_back(key);
  return out;
}

}  // namespace

json::object merge_schemas(json::object a, json::object b) {
  if (a.empty() || a == b) return b;
  if (b.empty()) return a;
  const json::value *type_a = a.if_contains("type");
  const json::value *type_b = b.if_contains("type");
  if (type_a == nullptr || type_b == nullptr || *type_a != *type_b || (*type_a != "object" && *type_a != "array")) {
    json::array any = alternatives(std::move(a));
    for (json::value &s : alternatives(std::move(b)))
      if (std::find(any.begin(), any.end(), s) == any.end()) any.push_back(std::move(s));
    return json::object{{"anyOf", std::move(any)}};
  }
  if (json::value *from = b.if_contains("properties")) {
    json::value &into = a["properties"];
    if (!into.is_object()) into = json::object{};
    for (auto &kv : from->as_object()) {
      json::value &p = into.as_object()[kv.key()];
      p = merge_schemas(p.is_object() ? std::move(p.as_object()) : json::object{}, std::move(kv.value().as_object()));
    }
  }
  for (const std::string_view key : {"items", "additionalProperties"}) {
    json::value *from = b.if_contains(key);
    if (from == nullptr) continue;
    json::value *into = a.if_contains(key);
    if (into == nullptr)
      a[key] = std::move(*from);
    else if (into->is_object() && from->is_object())
      *into = merge_schemas(std::move(into->as_object()), std::move(from->as_object()));
  }
  if (json::array required = common_required(a.if_contains("required"), b.if_contains("required")); required.empty())
    a.erase("required");
  else
    a["required"] = std::move(required);
  return a;
}

json::object schema_of(const reading_notes &notes, const json::value &v) {
  const auto noted = notes.shapes.find(&v);
  json::object s = noted == notes.shapes.end() ? json::object{} : noted->second;
  if (const json::object *o = v.if_object()) {
    if (json::value *properties = s.if_contains("properties")) {
      for (const auto &kv : *o)
        if (json::value *p = properties->as_object().if_contains(kv.key()))
          *p = merge_schemas(std::move(p->as_object()), schema_of(notes, kv.value()));
    } else if (s.contains("type") && !s.contains("additionalProperties") && !o->empty()) {
      json::object values;
      for (const auto &kv : *o) values = merge_schemas(std::move(values), schema_of(notes, kv.value()));
      s["additionalProperties"] = std::move(values);
    }
  } else if (const json::array *a = v.if_array()) {
    if (s.contains("type") && !s.contains("items") && !a->empty()) {
      json::object items;
      for (const auto &e : *a) items = merge_schemas(std::move(items), schema_of(notes, e));
      s["items"] = std::move(items);
    }
  }
  return s;
}

std::variant<json::value, config_errors> effective_config(std::string_view json_text,
                                                          const environment_lookup &environment) {
  auto parsed = parse_json_text(json_text);
  if (auto *error = std::get_if<config_error>(&parsed)) return config_errors{std::move(*error)};
  config_checker c;
  std::optional<json::value> expanded;
  const json::value *read = with_environment(std::get<json::value>(parsed), "", environment, c, expanded);
  if (read == nullptr) return std::move(c.errors);
  json::value effective = expanded ? std::move(*expanded) : std::move(std::get<json::value>(parsed));
  reading_notes notes{reading::fill_defaults};
  c.notes = &notes;
  (void)read_document(c, effective, environment);
  if (!c.errors.empty()) return std::move(c.errors);
  for (auto &[object, key, value] : notes.defaults) const_cast<json::object *>(object)->emplace(key, std::move(value));
  for (auto &[secret, replacement] : notes.secrets) *const_cast<json::value *>(secret) = replacement;
  escape_dollars(effective);  // a `$` it holds now is a value: `$$`, as the config writes one
  return effective;
}

json::value config_schema() {
  reading_notes notes{reading::record_shapes};
  json::object schema;
  const auto exemplars = parse_json_text(config_exemplar());
  for (const json::value &document : std::get<json::value>(exemplars).as_array()) {
    config_checker c;  // the exemplars name every key, some in ways start-up would refuse: only their shapes count
    c.notes = &notes;
    (void)read_document(c, document, process_environment);
    schema = merge_schemas(std::move(schema), schema_of(notes, document));
  }
  json::object out{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                   {"title", "aggregator config"},
                   {"description",
                    "The config file of the aggregator service: `aggregator config schema` prints this, read from "
                    "the same code that loads a config (`aggregator --check FILE` checks what a schema cannot)."}};
  for (auto &kv : schema) out.insert_or_assign(kv.key(), std::move(kv.value()));
  return out;
}

}  // namespace agg::config
