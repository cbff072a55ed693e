#include "aggregator/config/upstream_entry_reader.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "aggregator/config/call_policy_reader.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace json = boost::json;

namespace {

/// The name a template uses for the client's own JSON body.
constexpr std::string_view request_body_name = "request";

/// A `{name.body#...}` an entry uses, and where it stands, to be linked once every entry is read.
struct reference {
  std::string name;
  std::string path;
};

/// What the reader of one entry knows of the others while it reads it.
struct entry_reader {
  config_checker &c;
  const route_config &route;
  std::vector<std::vector<reference>> references;  // per entry

  /// Checks the slots of a template at `path` of entry `index`; `in_url` forbids array values.
  void check_slots(const upstream_entry &entry, std::size_t index, const text_template &t, const std::string &path,
                   bool in_text) {
    for (const auto &slot : t.slots()) {
      const credential_need need = route.access ? route.access->require : credential_need::none;
      if (slot.from_claims) {
        if (need != credential_need::jwt)
          c.fail(path,
                 slot.text() + " takes the caller's JWT claims: the route needs \"access\": {\"require\": \"jwt\"}");
        continue;
      }
      if (slot.name == api_key_name_slot) {
        if (need != credential_need::api_key && need != credential_need::any)
          c.fail(path, "{api_key.name} needs a route whose access.require is api_key or any");
        continue;
      }
      if (slot.is_reference()) {
        references[index].push_back({slot.name, path});
        continue;
      }
      const std::string &name = slot.name;
      if (name == "i") {
        if (!entry.repeat && !entry.for_each)
          c.fail(path, "{i} is only defined in an entry with \"repeat\": true or \"for_each\"");
      } else if (name == "item") {
        if (!entry.for_each) c.fail(path, "{item} is only defined in a \"for_each\" entry");
      } else if (name == "items") {
        if (!entry.batch) c.fail(path, "{items} is only defined in a \"for_each\" entry with \"batch\"");
        if (in_text) c.fail(path, "{items} is an array: it can only be a whole value of a body template");
      } else if (name != "num" && !route.params.contains(name)) {
        c.fail(path,
               "slot {" + name + "} is neither i, num, item, a parameter the route declares, nor entry.body#/pointer");
      }
    }
  }

  /// Every string of a body template, at its path: each must be a template. Kept parsed in
  /// `entry.body_strings`, in the order of the walk (objects' members, arrays' elements, in order).
  void read_body(upstream_entry &entry, std::size_t index, const json::value &v, const std::string &path) {
    if (const json::object *o = v.if_object()) {
      for (const auto &kv : *o) read_body(entry, index, kv.value(), child(path, kv.key()));
    } else if (const json::array *a = v.if_array()) {
      for (std::size_t i = 0; i < a->size(); ++i) read_body(entry, index, (*a)[i], element(path, i));
    } else if (const json::string *s = v.if_string()) {
      auto parsed = text_template::parse(*s);
      if (const auto *problem = std::get_if<std::string>(&parsed)) return c.fail(path, *problem);
      auto &parts = entry.body_strings.emplace_back(std::get<text_template>(std::move(parsed)));
      check_slots(entry, index, parts, path, parts.whole_slot() == nullptr);
    }
  }

  std::vector<std::string> pointers(const json::object &o, const std::string &path, std::string_view key) {
    std::vector<std::string> out;
    const json::value *v = o.if_contains(key);
    if (v == nullptr) return out;
    const json::array *a = c.strings(*v, child(path, key));
    if (a == nullptr) return out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const json::string *p = (*a)[i].if_string();
      if (p == nullptr || p->empty() || !is_json_pointer(*p))
        c.fail(element(child(path, key), i), "must be a JSON Pointer such as \"/id\"");
      else
        out.emplace_back(*p);
    }
    return out;
  }

  void read_shape(const json::object &o, const std::string &path, body_shape &shape) {
    if (auto select = c.text(o, path, "select", false)) {
      if (!is_json_pointer(*select))
        c.fail(child(path, "select"), "must be a JSON Pointer such as \"/data/items\"");
      else
        shape.select = std::move(*select);
    }
    shape.allow = pointers(o, path, "allow");
    shape.deny = pointers(o, path, "deny");
    if (const json::value *v = o.if_contains("rename")) {
      if (const json::object *r = c.string_map(*v, child(path, "rename"))) {
        for (const auto &kv : *r) {
          const std::string at = child(child(path, "rename"), kv.key());
          const json::string *to = kv.value().if_string();
          if (kv.key().empty() || !is_json_pointer(kv.key()) || to == nullptr || to->empty() || !is_json_pointer(*to))
            c.fail(at, "rename maps a JSON Pointer to a JSON Pointer, e.g. {\"/user_name\": \"/name\"}");
          else
            shape.rename.emplace_back(std::string{kv.key()}, std::string{*to});
        }
      }
    }
  }

  void read_method(const json::object &o, const std::string &path, upstream_entry &entry) {
    const auto method = c.text(o, path, "method", false);
    if (!method) return;
    static constexpr std::pair<std::string_view, http_method> known[] = {{"GET", http_method::get},
                                                                         {"POST", http_method::post},
                                                                         {"PUT", http_method::put},
                                                                         {"PATCH", http_method::patch},
                                                                         {"DELETE", http_method::del}};
    for (const auto &[text, value] : known)
      if (*method == text) return void(entry.method = value);
    c.fail(child(path, "method"), "must be GET, POST, PUT, PATCH or DELETE");
  }

  void read_headers(const json::object &o, const std::string &path, std::size_t index, upstream_entry &entry) {
    const json::value *v = o.if_contains("headers");
    if (v == nullptr) return;
    const json::object *h = c.string_map(*v, child(path, "headers"));
    if (h == nullptr) return;
    for (const auto &kv : *h) {
      const std::string at = child(child(path, "headers"), kv.key());
      const json::string *value = kv.value().if_string();
      if (!text::is_header_name(kv.key()) || value == nullptr) {
        c.fail(at, "must map a header name (letters, digits, '-', '_') to a string");
        continue;
      }
      if (text::is_hop_by_hop(kv.key())) c.fail(at, "cannot set the hop-by-hop header " + std::string{kv.key()});
      if (text::breaks_header_line(*value)) c.fail(at, "holds a control character (a line break, NUL, ...)");
      auto parsed = text_template::parse(*value);
      if (const auto *problem = std::get_if<std::string>(&parsed)) {
        c.fail(at, *problem);
        continue;
      }
      check_slots(entry, index, std::get<text_template>(parsed), at, true);
      entry.headers.emplace_back(std::string{kv.key()}, std::get<text_template>(std::move(parsed)));
      if (text::is_credential_header(kv.key())) c.secret(kv.value());
    }
  }

  void read_for_each(const json::object &o, const std::string &path, std::size_t index, upstream_entry &entry) {
    const auto text = c.text(o, path, "for_each", false);
    if (text) {
      auto parsed = text_template::parse("{" + *text + "}");
      const template_slot *slot =
          std::holds_alternative<text_template>(parsed) ? std::get<text_template>(parsed).whole_slot() : nullptr;
      if (slot == nullptr || !slot->is_reference()) {
        c.fail(child(path, "for_each"), "must be entry.body#/pointer, e.g. \"orders.body#/items/*/product_id\"");
      } else {
        entry.for_each = *slot;
        references[index].push_back({slot->name, child(path, "for_each")});
      }
      if (entry.repeat) c.fail(child(path, "for_each"), "an entry either repeats or runs for each value, not both");
    }
    if (text) c.integer(o, path, "max_items", entry.max_items, 1, 10'000);
    if (const json::value *b = o.if_contains("batch")) {
      if (!text) c.fail(child(path, "batch"), "only applies to a \"for_each\" entry");
      if (const json::object *batch = c.object(*b, child(path, "batch"), {"size", "join"})) {
        batch_spec spec;
        c.integer(*batch, child(path, "batch"), "size", spec.size, 1, 1'000);
        if (auto join = c.text(*batch, child(path, "batch"), "join", false)) spec.join = std::move(*join);
        entry.batch = std::move(spec);
      }
    }
    if (o.contains("max_items") && !text) c.fail(child(path, "max_items"), "only applies to a \"for_each\" entry");
  }

  void read_return_headers(const json::object &o, const std::string &path, upstream_entry &entry) {
    const json::value *v = o.if_contains("return_headers");
    if (v == nullptr) return;
    const json::array *a = c.strings(*v, child(path, "return_headers"));
    if (a == nullptr) return;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const json::string *name = (*a)[i].if_string();
      const std::string at = element(child(path, "return_headers"), i);
      if (name == nullptr || !text::is_header_name(*name))
        c.fail(at, "must be a header name (letters, digits, '-', '_')");
      else if (text::equal_ignoring_case(*name, "set-cookie"))
        c.fail(at, "Set-Cookie is never returned: an upstream's cookies are not the client's");
      else
        entry.return_headers.emplace_back(*name);
    }
  }

  /// What a POST or a PATCH may not do unless the entry says it is idempotent, and what only GET
  /// calls do (their answer depends on the URL and headers alone).
  void restrict_policy(const json::object &o, const std::string &path, upstream_entry &entry) {
    bool idempotent = is_idempotent(entry.method);
    c.boolean(o, path, "idempotent", idempotent);
    const auto set_here = [&o](std::string_view key) {
      const json::value *v = o.if_contains(key);
      return v != nullptr && !(v->is_bool() && !v->get_bool());
    };
    if (!idempotent) {
      for (const std::string_view key : {"retry", "hedge"})
        if (set_here(key))
          c.fail(child(path, key), "a " + std::string{to_string(entry.method)} +
                                       " is not retried or hedged unless the entry says \"idempotent\": true");
      entry.policy.retry.reset();
      entry.policy.hedge.reset();
    }
    if (entry.method != http_method::get) {
      for (const std::string_view key : {"cache", "coalesce"})
        if (set_here(key)) c.fail(child(path, key), "only GET calls are cached or coalesced");
      entry.policy.cache.reset();
      entry.policy.coalesce = false;
      entry.policy.coalesce_across_replicas = false;
    }
  }

  void read_entry(const json::object &o, const std::string &path, std::size_t index, upstream_entry &entry) {
    c.boolean(o, path, "repeat", entry.repeat);
    c.boolean(o, path, "required", entry.required);
    if (auto name = c.text(o, path, "name", false)) {
      if (!text::is_name(*name) || *name == request_body_name)
        c.fail(child(path, "name"), "must be lowercase letters, digits, '_' or '-', and not \"request\"");
      entry.name = std::move(*name);
    }
    read_method(o, path, entry);
    read_for_each(o, path, index, entry);
    if (const auto text = c.text(o, path, "url", true)) {
      auto parsed = url_template::parse(*text);
      if (const auto *problem = std::get_if<std::string>(&parsed)) {
        c.fail(child(path, "url"), *problem);
      } else {
        entry.url = std::get<url_template>(std::move(parsed));
        check_slots(entry, index, entry.url.parts(), child(path, "url"), true);
      }
    }
    read_headers(o, path, index, entry);
    c.boolean(o, path, "forward_body", entry.forward_body);
    c.any(o, "body", "the JSON sent as the call's body; each of its strings is a template");
    if (const json::value *body = o.if_contains("body")) {
      read_body(entry, index, *body, child(path, "body"));
      entry.body = *body;
      if (entry.forward_body) c.fail(child(path, "body"), "an entry sends its body template or the client's, not both");
    }
    const bool sends_body = entry.body || entry.forward_body;
    if (sends_body && entry.method != http_method::post && entry.method != http_method::put &&
        entry.method != http_method::patch)
      c.fail(child(path, entry.body ? "body" : "forward_body"), "only a POST, PUT or PATCH sends a body");
    read_shape(o, path, entry.shape);
    read_return_headers(o, path, entry);
    entry.policy = route.policy;  // the route's, unless the entry says otherwise
    read_call_policy(c, o, path, entry.policy, /*inherited=*/true);
    restrict_policy(o, path, entry);
  }
};

/// Resolves the references, then orders the entries so that each comes after those it uses (config
/// order among those that are free); entries left over form a cycle.
void link_entries(config_checker &c, const std::string &path, route_config &route,
                  const std::vector<std::vector<reference>> &references) {
  std::map<std::string, std::size_t, std::less<>> by_name;
  for (std::size_t i = 0; i < route.upstreams.size(); ++i) {
    const std::string &name = route.upstreams[i].name;
    if (name.empty()) continue;
    if (!by_name.emplace(name, i).second) c.fail(child(element(path, i), "name"), "another entry is called " + name);
  }
  for (std::size_t i = 0; i < route.upstreams.size(); ++i) {
    upstream_entry &entry = route.upstreams[i];
    std::set<std::size_t> uses;
    for (const auto &ref : references[i]) {
      if (ref.name == request_body_name) {
        route.takes_body = true;
        continue;
      }
      const auto found = by_name.find(ref.name);
      if (found == by_name.end())
        c.fail(ref.path, "no entry is named '" + ref.name + "'");
      else if (found->second == i)
        c.fail(ref.path, "an entry cannot use its own body");
      else
        uses.insert(found->second);
    }
    entry.uses.assign(uses.begin(), uses.end());
    route.takes_body = route.takes_body || entry.forward_body;
    route.composed = route.composed || entry.chained();
  }
  // Kahn's algorithm, taking the first free entry in config order each time.
  std::vector<std::size_t> waiting(route.upstreams.size());
  for (std::size_t i = 0; i < route.upstreams.size(); ++i) waiting[i] = route.upstreams[i].uses.size();
  std::vector<bool> placed(route.upstreams.size(), false);
  while (route.order.size() < route.upstreams.size()) {
    std::size_t next = route.upstreams.size();
    for (std::size_t i = 0; i < route.upstreams.size() && next == route.upstreams.size(); ++i)
      if (!placed[i] && waiting[i] == 0) next = i;
    if (next == route.upstreams.size()) break;
    placed[next] = true;
    route.order.push_back(next);
    for (std::size_t i = 0; i < route.upstreams.size(); ++i)
      if (std::find(route.upstreams[i].uses.begin(), route.upstreams[i].uses.end(), next) !=
          route.upstreams[i].uses.end())
        --waiting[i];
  }
  for (std::size_t i = 0; i < route.upstreams.size(); ++i) {
    if (placed[i]) continue;
    // Follow the uses among the unplaced entries until one repeats: that is the cycle to name.
    std::vector<std::size_t> walk{i};
    for (;;) {
      const auto &uses = route.upstreams[walk.back()].uses;
      const auto step = std::find_if(uses.begin(), uses.end(), [&placed](std::size_t u) { return !placed[u]; });
      const bool seen = std::find(walk.begin(), walk.end(), *step) != walk.end();
      walk.push_back(*step);
      if (seen) break;
    }
    std::string cycle;
    for (std::size_t k = 0; k < walk.size(); ++k) {
      const std::string &name = route.upstreams[walk[k]].name;
      cycle += (k == 0 ? "" : " -> ") + (name.empty() ? element(path, walk[k]) : name);
    }
    c.fail(element(path, i), "its entries use each other in a cycle: " + cycle);
  }
}

void read_merge(config_checker &c, const json::object &o, route_config &route) {
  const bool named = std::any_of(route.upstreams.begin(), route.upstreams.end(),
                                 [](const upstream_entry &e) { return !e.name.empty(); });
  route.merge = named ? merge_mode::keyed : merge_mode::none;
  if (!o.contains("merge")) return;
  const std::size_t problems = c.errors.size();
  c.choice(o, "", "merge", {{"keyed", merge_mode::keyed}, {"shallow", merge_mode::shallow}, {"none", merge_mode::none}},
           route.merge, "must be \"keyed\", \"shallow\" or \"none\"");
  if (c.errors.size() != problems) return;
  if (route.merge != merge_mode::none && !named) c.fail("merge", "needs at least one entry with a \"name\"");
}

}  // namespace

std::string_view to_string(http_method method) noexcept {
  switch (method) {
    case http_method::get: return "GET";
    case http_method::post: return "POST";
    case http_method::put: return "PUT";
    case http_method::patch: return "PATCH";
    case http_method::del: return "DELETE";
  }
  return "GET";
}

void read_upstreams(config_checker &c, const json::object &route_object, const std::string &path, route_config &route) {
  const json::value *v = c.required(route_object, "", path);
  if (v == nullptr) return;
  const json::array *a = c.array(*v, path);
  if (a == nullptr) return;
  if (a->empty()) c.fail(path, "must list at least one upstream");
  entry_reader reader{c, route, std::vector<std::vector<reference>>(a->size())};
  route.upstreams.resize(a->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string entry_path = element(path, i);
    const json::object *o =
        c.object((*a)[i], entry_path,
                 {"url",    "repeat",   "required",  "retry",        "hedge",          "breaker",   "cache", "coalesce",
                  "name",   "method",   "body",      "forward_body", "headers",        "select",    "allow", "deny",
                  "rename", "for_each", "max_items", "batch",        "return_headers", "idempotent"});
    if (o != nullptr) reader.read_entry(*o, entry_path, i, route.upstreams[i]);
  }
  link_entries(c, path, route, reader.references);
  read_merge(c, route_object, route);
  c.integer(route_object, "", "max_request_body_bytes", route.max_request_body_bytes, 1, 1 << 20);
}

}  // namespace agg::config
