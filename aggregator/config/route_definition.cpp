#include "aggregator/config/route_definition.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "aggregator/config/access_reader.hpp"
#include "aggregator/config/call_policy_reader.hpp"
#include "aggregator/config/cors_reader.hpp"
#include "aggregator/config/route_table.hpp"
#include "aggregator/config/upstream_entry_reader.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace json = boost::json;

namespace {

/// Paths the service serves itself (on either plane: a load balancer may put both behind one
/// address); a route may not take them.
constexpr std::array<std::string_view, 7> reserved_paths{"/",         "/health", "/ready", "/metrics",
                                                         "/api/jobs", "/admin",  "/ui"};
/// Prefixes of the jobs and admin APIs and of the /ui page's files.
constexpr std::array<std::string_view, 3> reserved_prefixes{"/api/jobs/", "/admin/", "/ui/"};

/// One absolute path of non-empty segments, none of them `.` or `..`: `//host/x` would be a
/// network-path reference to a page that fetches it, and dot segments name another path once
/// normalised.
bool is_route_path(std::string_view s) {
  if (s.size() < 2 || s.front() != '/' || s.back() == '/' || !text::made_of(s, "/_-.")) return false;
  for (std::string_view rest = s.substr(1); !rest.empty();) {
    const std::string_view segment = rest.substr(0, rest.find('/'));
    if (segment.empty() || segment == "." || segment == "..") return false;
    rest.remove_prefix(std::min(rest.size(), segment.size() + 1));
  }
  return true;
}

void read_path(config_checker &c, const json::object &o, route_config &route) {
  auto route_path = c.text(o, "", "path", true);
  if (!route_path) return;
  if (!is_route_path(*route_path)) {
    c.fail("path",
           "must start with '/', not end with '/', have no empty, '.' or '..' segment (one absolute path), and use "
           "only letters, digits and '/_-.'");
  } else if (std::find(reserved_paths.begin(), reserved_paths.end(), *route_path) != reserved_paths.end()) {
    c.fail("path", *route_path + " is one of the service's own endpoints");
  } else {
    for (const std::string_view prefix : reserved_prefixes)
      if (route_path->starts_with(prefix)) c.fail("path", std::string{prefix} + " belongs to the service's own API");
  }
  route.path = std::move(*route_path);
}

void read_params(config_checker &c, const json::value &v, const std::string &path, route_config &route) {
  const json::object *o = c.map(v, path);
  if (o == nullptr) return;
  for (const auto &kv : *o) {
    const std::string param_path = child(path, kv.key());
    // `num` is the fan-out width, `timeout_ms` the request's time limit and `i` the repetition
    // index: none of them is a free parameter.
    if (!text::is_name(kv.key()) || kv.key() == "num" || kv.key() == "i" || kv.key() == "timeout_ms") {
      c.fail(param_path, "parameter names are lowercase letters, digits, '_' or '-', and not num, i or timeout_ms");
      continue;
    }
    const json::object *spec = c.object(kv.value(), param_path, {"default", "max_length"});
    if (spec == nullptr) continue;
    param_spec p;
    p.position = route.params.size();
    p.default_value = c.text(*spec, param_path, "default", false);
    c.integer(*spec, param_path, "max_length", p.max_length, 1, 8192);
    route.params.emplace(std::string{kv.key()}, std::move(p));
  }
}

void read_forward_headers(config_checker &c, const json::value &v, const std::string &path, route_config &route) {
  const json::array *a = c.strings(v, path);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const json::string *name = (*a)[i].if_string();
    if (name == nullptr || !text::is_header_name(*name)) {
      c.fail(element(path, i), "must be a header name (letters, digits, '-', '_')");
      continue;
    }
    // These describe the hop to the upstream; curl sets them, and forwarding them would break it.
    if (text::is_hop_by_hop(*name))
      c.fail(element(path, i), "cannot forward the hop-by-hop header " + std::string{*name});
    route.forward_headers.emplace_back(*name);
  }
}

/// What "fixed + repeated + for-each" adds up to: "1 fixed + 1000 repeated (num.max) + 100 for each".
std::string calls_breakdown(const route_config &route) {
  std::size_t fixed = 0, repeating = 0, for_each = 0;
  for (const auto &entry : route.upstreams) {
    if (entry.for_each)
      for_each += most_calls_of(entry, route);
    else if (entry.repeat)
      ++repeating;  // each makes num.max
    else
      ++fixed;
  }
  std::string out = std::to_string(fixed) + " fixed";
  if (repeating > 0)
    out += " + " + std::to_string(repeating * route.num->max_count) + " repeated (num.max " +
           std::to_string(route.num->max_count) +
           (repeating > 1 ? " × " + std::to_string(repeating) + " entries)" : ")");
  if (for_each > 0) out += " + " + std::to_string(for_each) + " for each (max_items)";
  return out;
}

/// Reads a route with error paths relative to it; the caller prefixes them.
route_config read_route(config_checker &c, const json::value &v) {
  route_config route;
  const json::object *o = c.object(v, "",
                                   {"name",
                                    "path",
                                    "message",
                                    "num",
                                    "params",
                                    "timeout_ms",
                                    "deadline_ms",
                                    "max_body_bytes",
                                    "max_response_bytes",
                                    "max_calls",
                                    "accept_non_json",
                                    "partial_status",
                                    "forward_headers",
                                    "concurrency",
                                    "retry",
                                    "hedge",
                                    "breaker",
                                    "cache",
                                    "coalesce",
                                    "upstreams",
                                    "merge",
                                    "max_request_body_bytes",
                                    "access",
                                    "claims_to_headers",
                                    "rate_limit",
                                    "cors"});
  if (o == nullptr) return route;
  route.definition = *o;
  if (auto name = c.text(*o, "", "name", true)) {
    if (!text::is_name(*name)) c.fail("name", "must be lowercase letters, digits, '_' or '-'");
    route.name = std::move(*name);
  }
  read_path(c, *o, route);
  route.message = c.text_or(*o, "", "message", "Aggregated upstream responses");
  c.millis(*o, "", "timeout_ms", route.timeout, 1, 3'600'000);
  c.millis(*o, "", "deadline_ms", route.deadline, 1, 3'600'000);
  c.integer(*o, "", "max_body_bytes", route.max_body_bytes, 1, 1LL << 30);
  c.integer(*o, "", "max_response_bytes", route.max_response_bytes, 1, 4LL << 30);
  c.integer(*o, "", "max_calls", route.max_calls, 1, 100'000);
  c.boolean(*o, "", "accept_non_json", route.accept_non_json);
  c.integer(*o, "", "partial_status", route.partial_status, 200, 599);
  if (route.partial_status != 200 && route.partial_status != 206 && route.partial_status != 207 &&
      route.partial_status != 502)
    c.fail("partial_status", "must be 200, 206, 207 or 502");
  if (const json::value *headers = o->if_contains("forward_headers"))
    read_forward_headers(c, *headers, "forward_headers", route);
  if (const json::value *params = o->if_contains("params")) read_params(c, *params, "params", route);
  if (const json::value *num = o->if_contains("num")) {
    if (const json::object *n = c.object(*num, "num", {"default", "max"})) {
      count_limits limits;
      c.integer(*n, "num", "max", limits.max_count, 1, 100'000);
      c.integer(*n, "num", "default", limits.default_count, 1, 100'000);
      if (limits.default_count > limits.max_count) c.fail("num.default", "must not exceed max");
      route.num = limits;
    }
  }
  c.integer(*o, "", "concurrency", route.concurrency, 1, 100'000);
  read_call_policy(c, *o, "", route.policy);
  read_route_access(c, *o, route);
  read_upstreams(c, *o, "upstreams", route);
  if (const json::value *cors = o->if_contains("cors")) read_cors(c, *cors, "cors", route.cors.emplace());
  const bool repeats =
      std::any_of(route.upstreams.begin(), route.upstreams.end(), [](const auto &u) { return u.repeat; });
  if (repeats && !route.num) route.num = count_limits{};
  if (!repeats && route.num) c.fail("num", "only applies to a route with a \"repeat\": true upstream");
  if (const std::size_t most = most_calls(route); most > route.max_calls)
    c.fail("upstreams", "one aggregation could make " + std::to_string(most) + " calls (" + calls_breakdown(route) +
                            "), more than max_calls (" + std::to_string(route.max_calls) +
                            "): lower num.max or an entry's max_items, or raise max_calls");
  return route;
}

/// parse_route with `c`, which may note what it reads.
std::variant<route_config, config_errors> parse_route_with(config_checker c, const json::value &definition,
                                                           const environment_lookup &environment) {
  std::optional<json::value> expanded;
  const json::value *read = with_environment(definition, "", environment, c, expanded);
  if (read == nullptr) return std::move(c.errors);
  route_config route = read_route(c, *read);
  if (!c.errors.empty()) return std::move(c.errors);
  if (expanded) route.definition = definition.as_object();  // as written: shown, patched and saved with its ${NAME}s
  return route;
}

}  // namespace

std::size_t most_calls_of(const upstream_entry &entry, const route_config &route) {
  if (entry.repeat) return route.num ? route.num->max_count : count_limits{}.max_count;
  if (!entry.for_each) return 1;
  return entry.batch ? (entry.max_items + entry.batch->size - 1) / entry.batch->size : entry.max_items;
}

std::size_t most_calls(const route_config &route) {
  std::size_t most = 0;
  for (const auto &entry : route.upstreams) most += most_calls_of(entry, route);
  return most;
}

std::variant<route_config, config_errors> parse_route(const json::value &definition,
                                                      const environment_lookup &environment) {
  return parse_route_with(config_checker{}, definition, environment);
}

json::value merge_patch(json::value target, const json::value &patch) {
  const json::object *changes = patch.if_object();
  if (changes == nullptr) return patch;
  if (!target.is_object()) target = json::object{};
  json::object &merged = target.as_object();
  for (const auto &kv : *changes) {
    if (kv.value().is_null()) {
      merged.erase(kv.key());
      continue;
    }
    json::value *existing = merged.if_contains(kv.key());
    json::value updated = merge_patch(existing != nullptr ? *existing : json::value{}, kv.value());
    merged.insert_or_assign(kv.key(), std::move(updated));
  }
  return target;
}

void read_routes(config_checker &checker, const json::value &routes, std::vector<route_ptr> &out,
                 const environment_lookup &environment) {
  const json::array *a = checker.array(routes, "routes");
  if (a == nullptr) return;
  if (a->empty()) checker.fail("routes", "must define at least one route");
  route_table so_far;  // what a route's name and paths must not clash with: a lookup each, not a scan
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = element("routes", i);
    auto parsed = parse_route_with(checker.nested(), (*a)[i], environment);
    config_errors problems;
    if (auto *errors = std::get_if<config_errors>(&parsed)) {
      problems = std::move(*errors);
    } else {
      auto route = std::make_shared<const route_config>(std::get<route_config>(std::move(parsed)));
      problems = so_far.conflicts(*route);
      so_far.add(route);
      out.push_back(std::move(route));
    }
    for (auto &problem : problems)
      checker.fail(problem.path == "(root)" ? path : child(path, problem.path), problem.message);
  }
}

}  // namespace agg::config
