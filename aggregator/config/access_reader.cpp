#include "aggregator/config/access_reader.hpp"

#include "aggregator/config/text_template.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace json = boost::json;

namespace {

void read_access(config_checker &c, const json::value &v, route_config &route) {
  const std::string path = "access";
  const json::object *o = c.object(v, path, {"require", "claims", "client_subjects"});
  if (o == nullptr) return;
  access_policy &access = route.access.emplace();
  c.choice(*o, path, "require",
           {{"jwt", credential_need::jwt},
            {"api_key", credential_need::api_key},
            {"any", credential_need::any},
            {"none", credential_need::none},
            {"client_cert", credential_need::client_cert}},
           access.require, "must be jwt, api_key, any, client_cert or none");
  if (const json::value *claims = o->if_contains("claims")) {
    const std::string claims_path = child(path, "claims");
    if (const json::object *m = c.string_map(*claims, claims_path)) {
      for (const auto &kv : *m) {
        if (const json::string *wanted = kv.value().if_string())
          access.claims.emplace_back(kv.key(), *wanted);
        else
          c.fail(child(claims_path, kv.key()), "must be a string (the value the claim must hold)");
      }
    }
  }
  if (!access.claims.empty() && access.require != credential_need::jwt)
    c.fail(child(path, "claims"), "claims come from a JWT: they need \"require\": \"jwt\"");
  if (const json::value *subjects = o->if_contains("client_subjects")) {
    const std::string subjects_path = child(path, "client_subjects");
    if (const json::array *a = c.strings(*subjects, subjects_path)) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        const json::string *s = (*a)[i].if_string();
        if (s != nullptr && !s->empty())
          access.client_subjects.emplace_back(*s);
        else
          c.fail(element(subjects_path, i),
                 "must be a certificate subject in RFC 2253 form, e.g. \"CN=reports,O=Example\"");
      }
    }
    if (access.require != credential_need::client_cert)
      c.fail(subjects_path, "subjects come from a client certificate: they need \"require\": \"client_cert\"");
  }
}

void read_claims_to_headers(config_checker &c, const json::value &v, route_config &route) {
  const std::string path = "claims_to_headers";
  const json::object *o = c.string_map(v, path);
  if (o == nullptr) return;
  for (const auto &kv : *o) {
    const std::string where = child(path, kv.key());
    const json::string *pointer = kv.value().if_string();
    if (!text::is_header_name(kv.key()) || text::is_hop_by_hop(kv.key()))
      c.fail(where, "must be a header name (letters, digits, '-', '_'), not a hop-by-hop one");
    else if (pointer == nullptr || !is_json_pointer(*pointer) || pointer->empty())
      c.fail(where, "must be a JSON Pointer into the token's claims, e.g. \"/sub\"");
    else
      route.claims_to_headers.emplace_back(kv.key(), *pointer);
  }
  if (!route.claims_to_headers.empty() && (!route.access || route.access->require != credential_need::jwt))
    c.fail(path, "claims come from a JWT: the route needs \"access\": {\"require\": \"jwt\"}");
}

void read_rate_limit(config_checker &c, const json::value &v, route_config &route) {
  const std::string path = "rate_limit";
  const json::object *o =
      c.object(v, path, {"key", "requests_per_s", "burst", "calls_per_s", "burst_calls", "max_keys"});
  if (o == nullptr) return;
  rate_limit_policy &limit = route.rate_limit.emplace();
  if (const auto key = c.text(*o, path, "key", false)) {
    if (*key == "client") {
      limit.key = limit_key::client;
    } else if (*key == "ip") {
      limit.key = limit_key::ip;
    } else if (*key == "route") {
      limit.key = limit_key::route;
    } else if (key->starts_with("header:") && text::is_header_name(key->substr(7))) {
      limit.key = limit_key::header;
      limit.header = key->substr(7);
    } else {
      c.fail(child(path, "key"), "must be client, ip, route or header:<name>");
    }
  }
  c.number(*o, path, "requests_per_s", limit.requests_per_s, 0.001, 1e9);
  c.number(*o, path, "burst", limit.burst, 1, 1e9);
  c.number(*o, path, "calls_per_s", limit.calls_per_s, 0.001, 1e9);
  c.number(*o, path, "burst_calls", limit.burst_calls, 1, 1e9);
  c.integer(*o, path, "max_keys", limit.max_keys, 1, 100'000'000);
  if (limit.requests_per_s == 0 && limit.calls_per_s == 0) c.fail(path, "needs requests_per_s or calls_per_s");
  // A burst of one second's worth unless said: 10/s allows 10 at once, then one every 100 ms.
  if (limit.requests_per_s > 0 && limit.burst == 0) limit.burst = std::max(1.0, limit.requests_per_s);
  if (limit.calls_per_s > 0 && limit.burst_calls == 0) limit.burst_calls = std::max(1.0, limit.calls_per_s);
  if (limit.requests_per_s == 0 && o->contains("burst")) c.fail(child(path, "burst"), "needs requests_per_s");
  if (limit.calls_per_s == 0 && o->contains("burst_calls")) c.fail(child(path, "burst_calls"), "needs calls_per_s");
}

}  // namespace

void read_route_access(config_checker &c, const json::object &o, route_config &route) {
  if (const json::value *v = o.if_contains("access")) read_access(c, *v, route);
  if (const json::value *v = o.if_contains("claims_to_headers")) read_claims_to_headers(c, *v, route);
  if (const json::value *v = o.if_contains("rate_limit")) read_rate_limit(c, *v, route);
}

}  // namespace agg::config
