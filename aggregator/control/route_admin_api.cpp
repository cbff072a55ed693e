#include "aggregator/control/route_admin_api.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "aggregator/config/json_text.hpp"
#include "aggregator/http/error_body.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::control {

namespace json = boost::json;

namespace {

constexpr std::string_view collection = "/admin/routes";
constexpr std::size_t default_page_size = 20;
constexpr std::size_t max_page_size = 100;

/// A route as the API shows it: its definition, plus where it is served (read-only).
json::object shown(const config::route_config &route) {
  json::object o = route.definition;
  o.insert_or_assign("endpoints",
                     json::object{{"async", route.path}, {"sync", route.sync_path()}, {"stream", route.stream_path()}});
  return o;
}

/// {"error": {...}, "errors": {"upstreams[1].url": ["not an http(s) URL"], ...}}: messages grouped
/// by the field they are about, as validation errors of REST frameworks are.
std::string errors_json(std::string_view code, std::string_view message, const config::config_errors &errors) {
  json::object by_field;
  for (const auto &e : errors) {
    json::value &messages = by_field[e.path.empty() ? "(root)" : e.path];
    if (!messages.is_array()) messages = json::array{};
    messages.as_array().emplace_back(e.message);
  }
  return json::serialize(
      json::object{{"error", {{"code", code}, {"message", message}}}, {"errors", std::move(by_field)}});
}

http::response refuse(const config::live_routes::refused &refusal) {
  using reason = config::live_routes::refused::reason;
  switch (refusal.why) {
    case reason::invalid:
      return http::response::json(400, errors_json("invalid_route", "the route is not valid", refusal.errors));
    case reason::not_found: return http::response::json(404, errors_json("not_found", "no such route", refusal.errors));
    case reason::conflict:
      return http::response::json(
          409, errors_json("conflict", "the change conflicts with the routes in force", refusal.errors));
    case reason::stale:
      return http::response::json(
          412,
          errors_json("precondition_failed", "the routes changed since the version the change names", refusal.errors));
    case reason::unavailable:
      return http::response::json(503, errors_json("store_unavailable",
                                                   "the shared route table (Redis) does not answer", refusal.errors))
          .with_header("Retry-After", "1");
    case reason::not_saved: break;
  }
  return http::response::json(500, errors_json("not_saved", "the config file could not be written", refusal.errors));
}

/// The request body as a route definition or merge patch, read-only members dropped; or the refusal.
std::variant<json::value, http::response> read_body(const http::request &request) {
  const std::string_view type = request.header("Content-Type").value_or("");
  if (!type.empty() && type.find("json") == std::string_view::npos)
    return http::response::error(415, "unsupported_media_type",
                                 "send the route as JSON (Content-Type: application/json), not " + std::string{type});
  auto parsed = config::parse_json_text(request.body);
  if (const auto *error = std::get_if<config::config_error>(&parsed)) {
    if (error->path.empty())
      return http::response::json(400, errors_json("invalid_json", "the body is not JSON", {*error}));
    return http::response::json(400, errors_json("duplicate_key", "the body repeats the key " + error->path, {*error}));
  }
  auto &body = std::get<json::value>(parsed);
  if (auto *o = body.if_object()) {
    o->erase("endpoints");
    o->erase("elapsed");  // the timing every response carries, when a client sends one back
  }
  return std::move(body);
}

/// The ETag of the routes at `version`: a strong tag, the version's number.
std::string etag_of(std::uint64_t version) {
  std::string tag{'"'};
  tag += std::to_string(version);
  tag += '"';
  return tag;
}

/// What If-Match asks (RFC 9110, 13.1.1): nullopt for none or `*`; a tag that is not one of ours
/// names version 0, which never is.
config::live_routes::expected_version expected_of(const http::request &request) {
  const auto given = request.header("If-Match");
  if (!given || *given == "*") return std::nullopt;
  std::string_view tag = *given;
  if (tag.size() < 3 || tag.front() != '"' || tag.back() != '"') return 0;
  const auto n = text::whole_number(tag.substr(1, tag.size() - 2), 1, UINT64_MAX);
  return n ? *n : 0;
}

http::response not_allowed(std::string_view methods, const std::string &message) {
  return http::response::error(405, "method_not_allowed", message).with_header("Allow", std::string{methods});
}

json::value page_link(std::size_t page, std::size_t page_size) {
  // Parentheses: json::value{x} would be a one-element array.
  return json::value(std::string{collection} + "?page=" + std::to_string(page) +
                     "&page_size=" + std::to_string(page_size));
}

}  // namespace

bool route_admin_api::serves(std::string_view path) noexcept { return path == "/admin" || path.starts_with("/admin/"); }

http::response route_admin_api::serve(const filters::request_context &request) const {
  const std::string &path = request.path;
  const std::string &method = request.request.method;
  const bool read = method == "GET" || method == "HEAD";
  if (path == collection) {
    if (read) return list(request);
    if (method == "POST") return change(request, {});
    return not_allowed("GET, HEAD, POST", method + " is not allowed on the list");
  }
  const std::string_view name = std::string_view{path}.substr(std::min(path.size(), collection.size() + 1));
  if (!path.starts_with(std::string{collection} + "/") || name.empty() || name.find('/') != std::string_view::npos)
    return http::response::error(404, "not_found", "no admin endpoint at " + path + "; see /admin/routes");
  if (read) {
    const auto now = routes_.current_versioned();
    const auto route = now.table->find(name);
    if (!route) return http::response::error(404, "not_found", "no route named " + std::string{name});
    return http::response::json(200, json::serialize(shown(*route))).with_header("ETag", etag_of(now.version));
  }
  if (method == "PUT" || method == "PATCH" || method == "DELETE") return change(request, name);
  return not_allowed("GET, HEAD, PUT, PATCH, DELETE", method + " is not allowed on a route");
}

http::response route_admin_api::list(const filters::request_context &request) const {
  config::config_errors problems;
  std::size_t page = 1;
  std::size_t page_size = default_page_size;
  for (const auto &[key, value] : request.query) {
    if (key == "page") {
      if (const auto n = text::whole_number(value, 1, 1ULL << 31))
        page = *n;
      else
        problems.push_back({"page", "must be a whole number from 1"});
    } else if (key == "page_size") {
      if (const auto n = text::whole_number(value, 1, max_page_size))
        page_size = *n;
      else
        problems.push_back({"page_size", "must be a whole number from 1 to " + std::to_string(max_page_size)});
    } else {
      problems.push_back({key, "unknown parameter: the list takes page and page_size"});
    }
  }
  if (!problems.empty())
    return http::response::json(400, errors_json("invalid_parameter", "the list's parameters are not valid", problems));

  const auto now = routes_.current_versioned();
  const auto &routes = now.table->routes();
  const std::size_t pages = std::max<std::size_t>(1, (routes.size() + page_size - 1) / page_size);
  if (page > pages)
    return http::response::error(404, "not_found",
                                 "page " + std::to_string(page) + " does not exist: there are " +
                                     std::to_string(pages) + " of " + std::to_string(page_size));
  json::array results;
  const std::size_t first = (page - 1) * page_size;
  for (std::size_t i = first; i < std::min(routes.size(), first + page_size); ++i) results.push_back(shown(*routes[i]));
  const json::object body{{"count", routes.size()},
                          {"next", page < pages ? page_link(page + 1, page_size) : json::value{}},
                          {"previous", page > 1 ? page_link(page - 1, page_size) : json::value{}},
                          {"results", std::move(results)}};
  return http::response::json(200, json::serialize(body)).with_header("ETag", etag_of(now.version));
}

http::response route_admin_api::change(const filters::request_context &request, std::string_view name) const {
  const std::string &method = request.request.method;
  const auto expected = expected_of(request.request);
  if (method == "DELETE") {
    if (const auto refusal = routes_.remove(name, expected)) return refuse(*refusal);
    return http::response{.status = 204}.with_header("ETag", etag_of(routes_.current_versioned().version));
  }
  auto body = read_body(request.request);
  if (auto *refused = std::get_if<http::response>(&body)) return std::move(*refused);
  const auto &definition = std::get<json::value>(body);
  const auto changed = method == "POST"  ? routes_.create(definition, expected)
                       : method == "PUT" ? routes_.replace(name, definition, expected)
                                         : routes_.patch(name, definition, expected);
  if (const auto *refusal = std::get_if<config::live_routes::refused>(&changed)) return refuse(*refusal);
  const auto &route = std::get<config::route_ptr>(changed);
  http::response answer = http::response::json(method == "POST" ? 201 : 200, json::serialize(shown(*route)));
  if (method == "POST") answer.with_header("Location", std::string{collection} + "/" + route->name);
  // The version this change made (a change another replica made meanwhile may be newer still).
  return answer.with_header("ETag", etag_of(routes_.current_versioned().version));
}

}  // namespace agg::control
