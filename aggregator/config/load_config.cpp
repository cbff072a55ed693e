#include "aggregator/config/load_config.hpp"

#include "aggregator/config/character_rules.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace agg::config {

namespace json = boost::json;

std::string to_string(const config_error &error) {
  return error.path.empty() ? error.message : error.path + ": " + error.message;
}

std::optional<log_config::level> parse_log_level(std::string_view text) {
  if (text == "debug") return log_config::level::debug;
  if (text == "info") return log_config::level::info;
  if (text == "warn") return log_config::level::warn;
  if (text == "error") return log_config::level::error;
  if (text == "off") return log_config::level::off;
  return std::nullopt;
}

std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) return std::nullopt;
  if (!made_of(host, ".-")) return std::nullopt;
  return std::pair{std::string{host}, static_cast<std::uint16_t>(port)};
}

namespace {

std::string child(const std::string &path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}
std::string element(const std::string &path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

/// Walks a document and collects every problem with its path instead of stopping at the first.
class checker {
 public:
  config_errors errors;

  void fail(std::string path, std::string message) { errors.push_back({std::move(path), std::move(message)}); }

  /// The object at `path`, reporting every key not in `keys`.
  const json::object *object(const json::value &v, const std::string &path,
                             std::initializer_list<std::string_view> keys) {
    const json::object *o = map(v, path);
    if (o == nullptr) return nullptr;
    for (const auto &kv : *o)
      if (std::find(keys.begin(), keys.end(), kv.key()) == keys.end()) fail(child(path, kv.key()), "unknown key");
    return o;
  }

  /// The object at `path`, whatever its keys (a map keyed by names the user chooses).
  const json::object *map(const json::value &v, const std::string &path) {
    const json::object *o = v.if_object();
    if (o == nullptr) fail(path.empty() ? "(root)" : path, "must be an object");
    return o;
  }

  const json::array *array(const json::value &v, const std::string &path) {
    const json::array *a = v.if_array();
    if (a == nullptr) fail(path, "must be an array");
    return a;
  }

  template <typename Int>
  void integer(const json::object &o, const std::string &path, std::string_view key, Int &out, long long min,
               long long max) {
    const json::value *v = o.if_contains(key);
    if (v == nullptr) return;
    const auto *i = v->if_int64();
    const auto *u = v->if_uint64();
    const long long value =
        i ? *i : (u && *u <= static_cast<std::uint64_t>(max) ? static_cast<long long>(*u) : min - 1);
    if ((i == nullptr && u == nullptr) || value < min || value > max) {
      fail(child(path, key), "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    out = static_cast<Int>(value);
  }

  void millis(const json::object &o, const std::string &path, std::string_view key, std::chrono::milliseconds &out,
              long long min, long long max) {
    long long count = out.count();
    integer(o, path, key, count, min, max);
    out = std::chrono::milliseconds{count};
  }

  /// A string member; `required` makes its absence an error.
  std::optional<std::string> text(const json::object &o, const std::string &path, std::string_view key, bool required) {
    const json::value *v = o.if_contains(key);
    if (v == nullptr) {
      if (required) fail(child(path, key), "is required");
      return std::nullopt;
    }
    if (!v->is_string()) {
      fail(child(path, key), "must be a string");
      return std::nullopt;
    }
    return std::string{v->get_string()};
  }

  void boolean(const json::object &o, const std::string &path, std::string_view key, bool &out) {
    const json::value *v = o.if_contains(key);
    if (v == nullptr) return;
    if (!v->is_bool())
      fail(child(path, key), "must be true or false");
    else
      out = v->get_bool();
  }
};

bool is_name(std::string_view s) { return made_of(s, "_-", false); }

bool is_route_path(std::string_view s) {
  return s.size() > 1 && s.front() == '/' && s.back() != '/' && made_of(s, "/_-.");
}

void read_server(checker &c, const json::value &v, server_config &out) {
  const std::string path = "server";
  const json::object *o = c.object(v, path, {"listen", "threads", "backlog", "max_aggregations", "shutdown_grace_ms"});
  if (o == nullptr) return;
  if (const auto listen = c.text(*o, path, "listen", false)) {
    if (const auto address = parse_listen_address(*listen)) {
      out.host = address->first;
      out.port = address->second;
    } else {
      c.fail(child(path, "listen"), "must be HOST:PORT, e.g. 127.0.0.1:8080");
    }
  }
  c.integer(*o, path, "threads", out.threads, 1, 20'000);
  c.integer(*o, path, "backlog", out.backlog, 1, 65'535);
  c.integer(*o, path, "max_aggregations", out.max_aggregations, 1, 1'000'000);
  c.millis(*o, path, "shutdown_grace_ms", out.shutdown_grace, 0, 3'600'000);
}

void read_log(checker &c, const json::value &v, log_config &out) {
  const std::string path = "log";
  const json::object *o = c.object(v, path, {"level", "format"});
  if (o == nullptr) return;
  if (const auto level = c.text(*o, path, "level", false)) {
    if (const auto parsed = parse_log_level(*level))
      out.threshold = *parsed;
    else
      c.fail(child(path, "level"), "must be debug, info, warn, error or off");
  }
  if (const auto format = c.text(*o, path, "format", false)) {
    if (*format != "text" && *format != "json") c.fail(child(path, "format"), "must be text or json");
    out.json = *format == "json";
  }
}

void read_client(checker &c, const json::value &v, client::client_options &out) {
  const std::string path = "client";
  const json::object *o = c.object(v, path, {"loops", "shards_per_loop", "max_connections", "connect_timeout_ms"});
  if (o == nullptr) return;
  c.integer(*o, path, "loops", out.loops, 1, 64);
  c.integer(*o, path, "shards_per_loop", out.shards_per_loop, 1, 1024);
  c.integer(*o, path, "max_connections", out.max_connections, 1, 1'000'000);
  c.millis(*o, path, "connect_timeout_ms", out.connect_timeout, 1, 600'000);
}

void read_params(checker &c, const json::value &v, const std::string &path, route_config &route) {
  const json::object *o = c.map(v, path);
  if (o == nullptr) return;
  for (const auto &kv : *o) {
    const std::string param_path = child(path, kv.key());
    // `num` is the fan-out width, `timeout_ms` the request's time limit and `i` the repetition
    // index: none of them is a free parameter.
    if (!is_name(kv.key()) || kv.key() == "num" || kv.key() == "i" || kv.key() == "timeout_ms") {
      c.fail(param_path, "parameter names are lowercase letters, digits, '_' or '-', and not num, i or timeout_ms");
      continue;
    }
    const json::object *spec = c.object(kv.value(), param_path, {"default", "max_length"});
    if (spec == nullptr) continue;
    param_spec p;
    p.default_value = c.text(*spec, param_path, "default", false);
    c.integer(*spec, param_path, "max_length", p.max_length, 1, 8192);
    route.params.emplace(std::string{kv.key()}, std::move(p));
  }
}

bool is_header_name(std::string_view s) { return made_of(s, "-_"); }

void read_forward_headers(checker &c, const json::value &v, const std::string &path, route_config &route) {
  const json::array *a = c.array(v, path);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const json::string *name = (*a)[i].if_string();
    if (name == nullptr || !is_header_name(*name)) {
      c.fail(element(path, i), "must be a header name (letters, digits, '-', '_')");
      continue;
    }
    // These describe the hop to the upstream; curl sets them, and forwarding them would break it.
    for (const std::string_view hop : {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te"})
      if (std::equal(name->begin(), name->end(), hop.begin(), hop.end(),
                     [](char x, char y) { return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == y; }))
        c.fail(element(path, i), "cannot forward the hop-by-hop header " + std::string{*name});
    route.forward_headers.emplace_back(*name);
  }
}

void read_upstreams(checker &c, const json::value &v, const std::string &path, route_config &route) {
  const json::array *a = c.array(v, path);
  if (a == nullptr) return;
  if (a->empty()) c.fail(path, "must list at least one upstream");
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string entry_path = element(path, i);
    const json::object *o = c.object((*a)[i], entry_path, {"url", "repeat", "required"});
    if (o == nullptr) continue;
    bool repeat = false;
    bool required = false;
    c.boolean(*o, entry_path, "repeat", repeat);
    c.boolean(*o, entry_path, "required", required);
    const auto text = c.text(*o, entry_path, "url", true);
    if (!text) continue;
    auto parsed = url_template::parse(*text);
    if (const auto *problem = std::get_if<std::string>(&parsed)) {
      c.fail(child(entry_path, "url"), *problem);
      continue;
    }
    auto &url = std::get<url_template>(parsed);
    for (const auto &slot : url.slot_names()) {
      if (slot == "i" && !repeat)
        c.fail(child(entry_path, "url"), "{i} is only defined in an entry with \"repeat\": true");
      else if (slot != "i" && slot != "num" && !route.params.contains(slot))
        c.fail(child(entry_path, "url"), "slot {" + slot + "} is neither i, num nor a parameter the route declares");
    }
    route.upstreams.push_back({std::move(url), repeat, required});
  }
}

route_config read_route(checker &c, const json::value &v, const std::string &path) {
  route_config route;
  const json::object *o =
      c.object(v, path,
               {"name", "path", "message", "num", "params", "timeout_ms", "deadline_ms", "max_body_bytes",
                "accept_non_json", "partial_status", "forward_headers", "upstreams"});
  if (o == nullptr) return route;
  if (auto name = c.text(*o, path, "name", true)) {
    if (!is_name(*name)) c.fail(child(path, "name"), "must be lowercase letters, digits, '_' or '-'");
    route.name = std::move(*name);
  }
  if (auto route_path = c.text(*o, path, "path", true)) {
    if (!is_route_path(*route_path))
      c.fail(child(path, "path"), "must start with '/', not end with '/', and use only letters, digits, '/_-.'");
    else if (route_path->starts_with("/api/jobs/"))
      c.fail(child(path, "path"), "/api/jobs/ belongs to the jobs API");
    route.path = std::move(*route_path);
  }
  route.message = c.text(*o, path, "message", false).value_or("Aggregated upstream responses");
  c.millis(*o, path, "timeout_ms", route.timeout, 1, 3'600'000);
  c.millis(*o, path, "deadline_ms", route.deadline, 1, 3'600'000);
  c.integer(*o, path, "max_body_bytes", route.max_body_bytes, 1, 1LL << 30);
  c.boolean(*o, path, "accept_non_json", route.accept_non_json);
  c.integer(*o, path, "partial_status", route.partial_status, 200, 599);
  if (route.partial_status != 200 && route.partial_status != 206 && route.partial_status != 207 &&
      route.partial_status != 502)
    c.fail(child(path, "partial_status"), "must be 200, 206, 207 or 502");
  if (const json::value *headers = o->if_contains("forward_headers"))
    read_forward_headers(c, *headers, child(path, "forward_headers"), route);
  if (const json::value *params = o->if_contains("params")) read_params(c, *params, child(path, "params"), route);
  if (const json::value *num = o->if_contains("num")) {
    const std::string num_path = child(path, "num");
    if (const json::object *n = c.object(*num, num_path, {"default", "max"})) {
      count_limits limits;
      c.integer(*n, num_path, "max", limits.max_count, 1, 100'000);
      c.integer(*n, num_path, "default", limits.default_count, 1, 100'000);
      if (limits.default_count > limits.max_count) c.fail(child(num_path, "default"), "must not exceed max");
      route.num = limits;
    }
  }
  if (const json::value *upstreams = o->if_contains("upstreams"))
    read_upstreams(c, *upstreams, child(path, "upstreams"), route);
  else
    c.fail(child(path, "upstreams"), "is required");
  const bool repeats =
      std::any_of(route.upstreams.begin(), route.upstreams.end(), [](const auto &u) { return u.repeat; });
  if (repeats && !route.num) route.num = count_limits{};
  if (!repeats && route.num) c.fail(child(path, "num"), "only applies to a route with a \"repeat\": true upstream");
  return route;
}

void read_routes(checker &c, const json::value &v, std::vector<route_config> &out) {
  const json::array *a = c.array(v, "routes");
  if (a == nullptr) return;
  if (a->empty()) c.fail("routes", "must define at least one route");
  std::set<std::string, std::less<>> names;
  std::set<std::string, std::less<>> paths{"/", "/health", "/ready", "/metrics", "/api/jobs"};  // the front's own
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string path = element("routes", i);
    route_config route = read_route(c, (*a)[i], path);
    if (!route.name.empty() && !names.insert(route.name).second) c.fail(child(path, "name"), "duplicate route name");
    if (!route.path.empty()) {
      if (!paths.insert(route.path).second) c.fail(child(path, "path"), "path already served by another endpoint");
      if (!paths.insert(route.sync_path()).second)
        c.fail(child(path, "path"), "its sync baseline " + route.sync_path() + " is already served");
      if (!paths.insert(route.stream_path()).second)
        c.fail(child(path, "path"), "its stream " + route.stream_path() + " is already served");
    }
    out.push_back(std::move(route));
  }
}

/// "line L, column C" of byte `offset` in `text`.
std::string position_of(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, std::min(offset, text.size()));
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const std::size_t last_newline = before.rfind('\n');
  const std::size_t column = 1 + (last_newline == std::string_view::npos ? offset : offset - last_newline - 1);
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

std::variant<service_config, config_errors> parse_config(std::string_view json_text) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(json_text.data(), json_text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) return config_errors{{"", "not valid JSON at " + position_of(json_text, consumed) + ": " + ec.message()}};
  const json::value document = parser.release();

  checker c;
  service_config config;
  if (const json::object *root = c.object(document, "", {"server", "client", "log", "jobs", "routes"})) {
    if (const json::value *v = root->if_contains("jobs")) {
      if (const json::object *o = c.object(*v, "jobs", {"max", "keep_finished_ms"})) {
        c.integer(*o, "jobs", "max", config.jobs.max_jobs, 1, 1'000'000);
        c.millis(*o, "jobs", "keep_finished_ms", config.jobs.keep_finished, 1, 7 * 24 * 3'600'000LL);
      }
    }
    if (const json::value *v = root->if_contains("server")) read_server(c, *v, config.server);
    if (const json::value *v = root->if_contains("log")) read_log(c, *v, config.log);
    if (const json::value *v = root->if_contains("client")) read_client(c, *v, config.client);
    if (const json::value *v = root->if_contains("routes"))
      read_routes(c, *v, config.routes);
    else
      c.fail("routes", "is required");
  }
  if (!c.errors.empty()) return std::move(c.errors);
  return config;
}

std::variant<service_config, config_errors> load_config_file(const std::string &file) {
  std::ifstream in{file, std::ios::binary};
  if (!in) return config_errors{{"", "cannot read config file " + file}};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str());
}

}  // namespace agg::config
